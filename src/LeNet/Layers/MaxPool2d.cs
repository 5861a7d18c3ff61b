// Max pooling over non-overlapping size×size windows. Ceil mode adds a last partial window
// (Keras padding='same'). Backward routes each gradient to the first maximum of its window,
// recomputed from x and y so no indices are stored.
// input (N, C, H, W) → output (N, C, ⌈H/size⌉ or ⌊H/size⌋, ...)
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Numerics;

namespace LeNet.Layers;

public sealed class MaxPool2d : Layer
{
    readonly int _size;

    public MaxPool2d(string name, Shape input, int size = 2, bool ceil = false)
        : base(name, input, Pooling.OutputOf(input, size, ceil), Kernels.Activation.None)
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
}

internal static class Pooling
{
    // 2x2 windows over even-sized planes, the common case, without per-element bounds checks.
    // Same results as the general loops: the maximum, and its gradient to the first maximal input
    // in row order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Max2x2(ReadOnlySpan<float> x, int planes, int h, int w, Span<float> y)
    {
        int ow = w / 2, rows = planes * (h / 2);
        if (y.Length < rows * ow) throw new ArgumentException("Output too small.");
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        if (ow >= 4 && Kernels.Simd.Width != Kernels.SimdWidth.Scalar && Vector256.IsHardwareAccelerated) { Max2x2Vector(ref X, ref Y, rows, w); return; }
        for (int r = 0; r < rows; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            ref float bottom = ref Unsafe.Add(ref top, w);
            ref float dst = ref Unsafe.Add(ref Y, r * ow);
            for (int ox = 0; ox < ow; ox++)
            {
                // MaxNative is one branch-free instruction; the data-dependent branches of a ternary mispredict half the time.
                float m = float.MaxNative(Unsafe.Add(ref top, 2 * ox), Unsafe.Add(ref top, 2 * ox + 1));
                float m2 = float.MaxNative(Unsafe.Add(ref bottom, 2 * ox), Unsafe.Add(ref bottom, 2 * ox + 1));
                Unsafe.Add(ref dst, ox) = float.MaxNative(m, m2);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Max2x2Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int planes, int h, int w, Span<float> dx)
    {
        int ow = w / 2, rows = planes * (h / 2);
        if (y.Length < rows * ow || dy.Length < rows * ow || dx.Length < x.Length) throw new ArgumentException("Buffers too small.");
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Y = ref MemoryMarshal.GetReference(y);
        ref float DY = ref MemoryMarshal.GetReference(dy);
        ref float DX = ref MemoryMarshal.GetReference(dx);
        if (ow >= 4 && Kernels.Simd.Width != Kernels.SimdWidth.Scalar && Vector256.IsHardwareAccelerated) { Max2x2BackwardVector(ref X, ref Y, ref DY, ref DX, rows, w); return; }
        for (int r = 0; r < rows; r++)
        {
            int t = 2 * r * w;
            for (int ox = 0; ox < ow; ox++)
            {
                int o = r * ow + ox, i0 = t + 2 * ox;
                float m = Unsafe.Add(ref Y, o);
                // The window as [a, b, c, d]; the first element equal to the maximum gets the gradient
                // (found from a bit mask, without branches).
                var window = Vector128.Create(Unsafe.Add(ref X, i0), Unsafe.Add(ref X, i0 + 1), Unsafe.Add(ref X, i0 + w), Unsafe.Add(ref X, i0 + w + 1));
                uint mask = Vector128.ExtractMostSignificantBits(Vector128.Equals(window, Vector128.Create(m)));
                int first = Math.Min(3, BitOperations.TrailingZeroCount(mask | 16));
                Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref DX, i0)), 0L);
                Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref DX, i0 + w)), 0L);
                Unsafe.Add(ref DX, i0 + (first >> 1) * w + (first & 1)) = mask == 0 ? 0 : Unsafe.Add(ref DY, o);
            }
        }
    }

    // Vector forms: 4 windows (8 input columns) at a time; a row's last group overlaps the one before
    // (ow >= 4), which recomputes and rewrites the same values.
    static readonly Vector256<int> Evens = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6);
    static readonly Vector256<int> Odds = Vector256.Create(1, 3, 5, 7, 1, 3, 5, 7);
    static readonly Vector256<int> Pairs = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
    static readonly Vector256<int> Swap = Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6);
    static readonly Vector256<float> OddLanes = Vector256.Create(0, -1, 0, -1, 0, -1, 0, -1).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2Vector(ref float X, ref float Y, int rows, int w)
    {
        int ow = w / 2;
        for (int r = 0; r < rows; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            ref float bottom = ref Unsafe.Add(ref top, w);
            ref float dst = ref Unsafe.Add(ref Y, r * ow);
            for (int o = 0; ; o += 4)
            {
                if (o > ow - 4) o = ow - 4;
                var v = Vector256.Max(Vector256.LoadUnsafe(ref top, (nuint)(2 * o)), Vector256.LoadUnsafe(ref bottom, (nuint)(2 * o)));
                var m = Vector256.Max(Vector256.Shuffle(v, Evens), Vector256.Shuffle(v, Odds));
                m.GetLower().StoreUnsafe(ref dst, (nuint)o);
                if (o == ow - 4) break;
            }
        }
    }

    // The window [a b / c d] takes its gradient at the first maximum in the order a, b, c, d: a lane
    // takes it where it equals the maximum and no earlier lane of its window does.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2BackwardVector(ref float X, ref float Y, ref float DY, ref float DX, int rows, int w)
    {
        int ow = w / 2;
        for (int r = 0; r < rows; r++)
        {
            int t = 2 * r * w;
            for (int o = 0; ; o += 4)
            {
                if (o > ow - 4) o = ow - 4;
                int i0 = t + 2 * o, q = r * ow + o;
                var m = Vector256.Shuffle(Vector128.LoadUnsafe(ref Y, (nuint)q).ToVector256Unsafe(), Pairs);
                var g = Vector256.Shuffle(Vector128.LoadUnsafe(ref DY, (nuint)q).ToVector256Unsafe(), Pairs);
                var top = Vector256.Equals(Vector256.LoadUnsafe(ref X, (nuint)i0), m);
                var bottom = Vector256.Equals(Vector256.LoadUnsafe(ref X, (nuint)(i0 + w)), m);
                var topSwapped = Vector256.Shuffle(top, Swap);
                var takeTop = Vector256.AndNot(top, topSwapped & OddLanes);
                var takeBottom = Vector256.AndNot(Vector256.AndNot(bottom, top | topSwapped), Vector256.Shuffle(bottom, Swap) & OddLanes);
                (takeTop & g).StoreUnsafe(ref DX, (nuint)i0);
                (takeBottom & g).StoreUnsafe(ref DX, (nuint)(i0 + w));
                if (o == ow - 4) break;
            }
        }
    }

    public static Shape OutputOf(Shape input, int size, bool ceil)
    {
        if (size < 1 || input.H < size || input.W < size)
            throw new ArgumentException($"Pooling window {size} does not fit the input {input}.");
        return ceil
            ? new Shape(input.C, (input.H + size - 1) / size, (input.W + size - 1) / size)
            : new Shape(input.C, input.H / size, input.W / size);
    }
}
