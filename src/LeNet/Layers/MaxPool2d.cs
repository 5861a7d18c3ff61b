// Max pooling over non-overlapping size×size windows. Ceil mode adds a last partial window
// (Keras padding='same'). Backward routes each gradient to the first maximum of its window,
// recomputed from x and y so no indices are stored.
// input (N, C, H, W) → output (N, C, ⌈H/size⌉ or ⌊H/size⌋, ...)
using LeNet.Kernels;

namespace LeNet.Layers;

public sealed class MaxPool2d : Layer
{
    readonly int _size;

    public MaxPool2d(string name, Shape input, int size = 2, bool ceil = false)
        : base(name, input, PooledShape(input, size, ceil), Activation.None)
    {
        _size = size;
        Ceil = ceil;
    }

    public override string Kind => "MaxPool2d";
    public bool Ceil { get; }
    public int Size => _size;
    public override long Connections => (long)OutputShape.Size * _size * _size;
    public override string Details => $"{_size}x{_size}" + (Ceil ? " ceil" : "");
    public override int ScratchLength(int n) => 0;

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        int h = InputShape.H, w = InputShape.W, oh = OutputShape.H, ow = OutputShape.W, planes = n * InputShape.C;
        if (_size == 2 && h % 2 == 0 && w % 2 == 0) { Pooling.Max2x2(x[..(planes * h * w)], planes, h, w, y); return; }
        for (int q = 0; q < planes; q++)
        {
            var src = x.Slice(q * h * w, h * w);
            var dst = y.Slice(q * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
            {
                int y0 = oy * _size, y1 = Math.Min(y0 + _size, h);
                for (int ox = 0; ox < ow; ox++)
                {
                    int x0 = ox * _size, x1 = Math.Min(x0 + _size, w);
                    float m = float.NegativeInfinity;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) m = Math.Max(m, src[iy * w + ix]);
                    dst[oy * ow + ox] = m;
                }
            }
        }
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        if (dx.IsEmpty) return;
        int h = InputShape.H, w = InputShape.W, oh = OutputShape.H, ow = OutputShape.W, planes = n * InputShape.C;
        if (_size == 2 && h % 2 == 0 && w % 2 == 0) { Pooling.Max2x2Backward(x[..(planes * h * w)], y, dy, planes, h, w, dx); return; }
        dx[..(n * InputShape.Size)].Clear();
        for (int q = 0; q < planes; q++)
        {
            var src = x.Slice(q * h * w, h * w);
            var d = dx.Slice(q * h * w, h * w);
            for (int oy = 0; oy < oh; oy++)
            {
                int y0 = oy * _size, y1 = Math.Min(y0 + _size, h);
                for (int ox = 0; ox < ow; ox++)
                {
                    int x0 = ox * _size, x1 = Math.Min(x0 + _size, w), o = q * oh * ow + oy * ow + ox;
                    float m = y[o];
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++)
                            if (src[iy * w + ix] == m) { d[iy * w + ix] += dy[o]; goto next; }
                    next:;
                }
            }
        }
    }

    internal static Shape PooledShape(Shape input, int size, bool ceil)
    {
        if (size < 1 || input.H < size || input.W < size)
            throw new ArgumentException($"Pooling window {size} does not fit the input {input}.");
        return ceil
            ? new Shape(input.C, (input.H + size - 1) / size, (input.W + size - 1) / size)
            : new Shape(input.C, input.H / size, input.W / size);
    }
}
