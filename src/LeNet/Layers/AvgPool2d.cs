// Average pooling over non-overlapping size×size windows (Keras AveragePooling2D); no parameters.
// input (N, C, H, W) → output (N, C, H/size, W/size)
using LeNet.Kernels;

namespace LeNet.Layers;

public sealed class AvgPool2d : Layer
{
    readonly int _size;

    public AvgPool2d(string name, Shape input, int size = 2)
        : base(name, input, MaxPool2d.PooledShape(input, size, ceil: false), Activation.None) => _size = size;

    public override string Kind => "AvgPool2d";
    public int Size => _size;
    public override long Connections => (long)OutputShape.Size * _size * _size;
    public override string Details => $"{_size}x{_size}";
    public override int ScratchLength(int n) => 0;

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
        => Pooling.SumPool(x, y, n * InputShape.C, InputShape.H, InputShape.W, _size, 1f / (_size * _size));

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        if (!dx.IsEmpty) Pooling.SpreadPool(dy, dx, n * InputShape.C, InputShape.H, InputShape.W, _size, 1f / (_size * _size));
    }
}
