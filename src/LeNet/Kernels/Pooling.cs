// Pooling kernels over planes of h×w: 2x2 maximum (forward, and its gradient to the first maximum of
// each window in row order) with vector forms chosen by row length and width, and the sum over
// size×size blocks (average pooling, the paper's subsampling) with its adjoint. Maxima are MaxNative
// (one maxps) throughout, as in the scalar loop: Vector128/256.Max orders NaN and signed zeros as IEEE
// does, at 8 instructions a call below 512 bits.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace LeNet.Kernels;

public static class Pooling
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
        int r = 0;
        if (TwoVectorRows(w)) r = Max2x2TwoVectors(ref X, ref Y, rows, w);
        else if (OneVectorRows(w)) r = Max2x2OneVector(ref X, ref Y, rows, w);
        else if (ow >= 8 && Simd.Allows(SimdWidth.V256) && Avx2.IsSupported) { Max2x2Vector256(ref X, ref Y, rows, w); return; }
        else if (ow >= 4 && Simd.Allows(SimdWidth.V128)) { Max2x2Vector128(ref X, ref Y, rows, w); return; }
        for (; r < rows; r++)
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
        int r = 0;
        if (TwoVectorRows(w)) r = Max2x2TwoVectorsBackward(ref X, ref Y, ref DY, ref DX, rows, w);
        else if (OneVectorRows(w)) r = Max2x2OneVectorBackward(ref X, ref Y, ref DY, ref DX, rows, w);
        else if (ow >= 4 && Simd.Allows(SimdWidth.V256) && Avx2.IsSupported) { Max2x2BackwardVector(ref X, ref Y, ref DY, ref DX, rows, w); return; }
        else if (ow >= 4 && Simd.Allows(SimdWidth.V128)) { Max2x2BackwardVector128(ref X, ref Y, ref DY, ref DX, rows, w); return; }
        for (; r < rows; r++)
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

    // Rows of 17 to 32 inputs (LeNet's first pooling: 28) with 512-bit vectors: an input row as two
    // vectors, the second ending at the row's end (overlapping the first), and all of an output row's
    // windows (9 to 16) picked from both with one two-source permute each for the even and the odd
    // columns. An output row is stored as a whole vector, so its last lanes run into the next row's
    // start, which that row then overwrites; the last row goes to the scalar loop instead. Returns the
    // rows done.
    static bool TwoVectorRows(int w) => w > 16 && w <= 32 && Simd.Allows(SimdWidth.V512) && Avx512F.IsSupported;

    static Vector512<int> EvenColumns(int w)
    {
        // Output j reads columns 2j and 2j + 1: lanes of the first vector below 16, else of the second (index + 16).
        Span<int> index = stackalloc int[16];
        for (int j = 0; j < 16; j++) index[j] = 2 * j < 16 ? 2 * j : Math.Min(2 * j - (w - 16), 14) + 16;
        return Vector512.Create<int>(index);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Max2x2TwoVectors(ref float X, ref float Y, int rows, int w)
    {
        int ow = w / 2;
        nuint second = (nuint)(w - 16);
        var even = EvenColumns(w);
        var odd = even + Vector512<int>.One;
        for (int r = 0; r < rows - 1; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            ref float bottom = ref Unsafe.Add(ref top, w);
            var v0 = Vector512.MaxNative(Vector512.LoadUnsafe(ref top), Vector512.LoadUnsafe(ref bottom));
            var v1 = Vector512.MaxNative(Vector512.LoadUnsafe(ref top, second), Vector512.LoadUnsafe(ref bottom, second));
            Vector512.MaxNative(Avx512F.PermuteVar16x32x2(v0, even, v1), Avx512F.PermuteVar16x32x2(v0, odd, v1)).StoreUnsafe(ref Y, (nuint)(r * ow));
        }
        return Math.Max(0, rows - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Max2x2TwoVectorsBackward(ref float X, ref float Y, ref float DY, ref float DX, int rows, int w)
    {
        int ow = w / 2;
        nuint second = (nuint)(w - 16);
        // Input column c of the first vector belongs to output c/2, of the second to (w − 16 + c)/2.
        var first = Vector512.ShiftRightLogical(Vector512<int>.Indices, 1);
        var last = Vector512.ShiftRightLogical(Vector512<int>.Indices + Vector512.Create(w - 16), 1);
        var swap = Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
        var oddLanes = Vector512.Create(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1).AsSingle();
        for (int r = 0; r < rows - 1; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            ref float dTop = ref Unsafe.Add(ref DX, 2 * r * w);
            var m = Vector512.LoadUnsafe(ref Y, (nuint)(r * ow));
            var g = Vector512.LoadUnsafe(ref DY, (nuint)(r * ow));
            Backward(ref top, ref dTop, w, 0, Avx512F.PermuteVar16x32(m, first), Avx512F.PermuteVar16x32(g, first), swap, oddLanes);
            Backward(ref top, ref dTop, w, second, Avx512F.PermuteVar16x32(m, last), Avx512F.PermuteVar16x32(g, last), swap, oddLanes);
        }
        return Math.Max(0, rows - 1);

        // Sixteen columns of the window rows from column c: each window's gradient to its first maximum (a, b, c, d order).
        static void Backward(ref float top, ref float dTop, int w, nuint c, Vector512<float> m, Vector512<float> g, Vector512<int> swap, Vector512<float> oddLanes)
        {
            var t = Vector512.Equals(Vector512.LoadUnsafe(ref top, c), m);
            var b = Vector512.Equals(Vector512.LoadUnsafe(ref top, c + (nuint)w), m);
            var tSwapped = Vector512.Shuffle(t, swap);
            var takeTop = Vector512.AndNot(t, tSwapped & oddLanes);
            var takeBottom = Vector512.AndNot(Vector512.AndNot(b, t | tSwapped), Vector512.Shuffle(b, swap) & oddLanes);
            (takeTop & g).StoreUnsafe(ref dTop, c);
            (takeBottom & g).StoreUnsafe(ref dTop, c + (nuint)w);
        }
    }

    // Rows of 8 to 16 inputs (LeNet-5's second pooling: 10) with 512-bit vectors: a window row pair as
    // one vector each, its windows picked with one permute each for the even and the odd columns,
    // the output row stored as a whole vector whose last lanes run into the next rows (written after
    // it). Rows whose vector would reach past the input or output go to the scalar loop. Returns the
    // rows done.
    static bool OneVectorRows(int w) => w >= 8 && w <= 16 && Simd.Allows(SimdWidth.V512) && Avx512F.IsSupported;

    // Output rows whose loads (the window's two input rows, 16 floats from each start) and store (16
    // floats) stay within the planes.
    static int OneVectorRowCount(int rows, int w) => Math.Max(0, rows - (16 + w / 2 - 1) / (w / 2));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Max2x2OneVector(ref float X, ref float Y, int rows, int w)
    {
        int ow = w / 2, done = OneVectorRowCount(rows, w);
        var even = Vector512.Min(Vector512<int>.Indices * 2, Vector512.Create(14));
        var odd = even + Vector512<int>.One;
        for (int r = 0; r < done; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            var v = Vector512.MaxNative(Vector512.LoadUnsafe(ref top), Vector512.LoadUnsafe(ref top, (nuint)w));
            Vector512.MaxNative(Avx512F.PermuteVar16x32(v, even), Avx512F.PermuteVar16x32(v, odd)).StoreUnsafe(ref Y, (nuint)(r * ow));
        }
        return done;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Max2x2OneVectorBackward(ref float X, ref float Y, ref float DY, ref float DX, int rows, int w)
    {
        int ow = w / 2, done = OneVectorRowCount(rows, w);
        var pairs = Vector512.ShiftRightLogical(Vector512<int>.Indices, 1);
        var swap = Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
        var oddLanes = Vector512.Create(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1).AsSingle();
        for (int r = 0; r < done; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            ref float dTop = ref Unsafe.Add(ref DX, 2 * r * w);
            var m = Avx512F.PermuteVar16x32(Vector512.LoadUnsafe(ref Y, (nuint)(r * ow)), pairs);
            var g = Avx512F.PermuteVar16x32(Vector512.LoadUnsafe(ref DY, (nuint)(r * ow)), pairs);
            var t = Vector512.Equals(Vector512.LoadUnsafe(ref top), m);
            var b = Vector512.Equals(Vector512.LoadUnsafe(ref top, (nuint)w), m);
            var tSwapped = Vector512.Shuffle(t, swap);
            var takeTop = Vector512.AndNot(t, tSwapped & oddLanes);
            var takeBottom = Vector512.AndNot(Vector512.AndNot(b, t | tSwapped), Vector512.Shuffle(b, swap) & oddLanes);
            // The top row's last lanes run into the bottom row, stored right after.
            (takeTop & g).StoreUnsafe(ref dTop);
            (takeBottom & g).StoreUnsafe(ref dTop, (nuint)w);
        }
        return done;
    }

    // 256-bit forms. Forward: 8 windows (16 input columns, two vectors) at a time, the even and odd
    // columns gathered by two-source shuffles within each 128-bit half, then the halves' middle pairs
    // swapped into order; a row's last group overlaps the one before (ow >= 8), which recomputes and
    // rewrites the same values. Backward: 4 windows at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2Vector256(ref float X, ref float Y, int rows, int w)
    {
        int ow = w / 2;
        for (int r = 0; r < rows; r++)
        {
            ref float top = ref Unsafe.Add(ref X, 2 * r * w);
            ref float bottom = ref Unsafe.Add(ref top, w);
            ref float dst = ref Unsafe.Add(ref Y, r * ow);
            for (int o = 0; ; o += 8)
            {
                if (o > ow - 8) o = ow - 8;
                nuint i = (nuint)(2 * o);
                var v0 = Vector256.MaxNative(Vector256.LoadUnsafe(ref top, i), Vector256.LoadUnsafe(ref bottom, i));
                var v1 = Vector256.MaxNative(Vector256.LoadUnsafe(ref top, i + 8), Vector256.LoadUnsafe(ref bottom, i + 8));
                // Windows in the order 0 1 4 5 | 2 3 6 7, then as 64-bit pairs 0 2 1 3.
                var m = Vector256.MaxNative(Avx.Shuffle(v0, v1, 0b10_00_10_00), Avx.Shuffle(v0, v1, 0b11_01_11_01));
                Avx2.Permute4x64(m.AsDouble(), 0b11_01_10_00).AsSingle().StoreUnsafe(ref dst, (nuint)o);
                if (o == ow - 8) break;
            }
        }
    }

    // The window [a b / c d] takes its gradient at the first maximum in the order a, b, c, d: a lane
    // takes it where it equals the maximum and no earlier lane of its window does.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2BackwardVector(ref float X, ref float Y, ref float DY, ref float DX, int rows, int w)
    {
        int ow = w / 2;
        // Constants as locals: read from static readonly fields, they cost a class-initialisation check
        // and a call in the loop (this method is compiled before the class's static constructor runs).
        var pairs = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
        var oddLanes = Vector256.Create(0, -1, 0, -1, 0, -1, 0, -1).AsSingle();
        for (int r = 0; r < rows; r++)
        {
            int t = 2 * r * w;
            for (int o = 0; ; o += 4)
            {
                if (o > ow - 4) o = ow - 4;
                int i0 = t + 2 * o, q = r * ow + o;
                var m = Avx2.PermuteVar8x32(Vector128.LoadUnsafe(ref Y, (nuint)q).ToVector256Unsafe(), pairs);
                var g = Avx2.PermuteVar8x32(Vector128.LoadUnsafe(ref DY, (nuint)q).ToVector256Unsafe(), pairs);
                var top = Vector256.Equals(Vector256.LoadUnsafe(ref X, (nuint)i0), m);
                var bottom = Vector256.Equals(Vector256.LoadUnsafe(ref X, (nuint)(i0 + w)), m);
                var topSwapped = Avx.Permute(top, 0b10_11_00_01);
                var takeTop = Vector256.AndNot(top, topSwapped & oddLanes);
                var takeBottom = Vector256.AndNot(Vector256.AndNot(bottom, top | topSwapped), Avx.Permute(bottom, 0b10_11_00_01) & oddLanes);
                (takeTop & g).StoreUnsafe(ref DX, (nuint)i0);
                (takeBottom & g).StoreUnsafe(ref DX, (nuint)(i0 + w));
                if (o == ow - 4) break;
            }
        }
    }

    // 128-bit forms (SSE on x64, AdvSimd on ARM64): the same 4 windows at a time, the 8 input columns
    // as two vectors whose even and odd lanes are gathered with one two-source shuffle each.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2Vector128(ref float X, ref float Y, int rows, int w)
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
                nuint i = (nuint)(2 * o);
                var v0 = Vector128.MaxNative(Vector128.LoadUnsafe(ref top, i), Vector128.LoadUnsafe(ref bottom, i));
                var v1 = Vector128.MaxNative(Vector128.LoadUnsafe(ref top, i + 4), Vector128.LoadUnsafe(ref bottom, i + 4));
                Vector128.MaxNative(EvenLanes(v0, v1), OddLanes128(v0, v1)).StoreUnsafe(ref dst, (nuint)o);
                if (o == ow - 4) break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Max2x2BackwardVector128(ref float X, ref float Y, ref float DY, ref float DX, int rows, int w)
    {
        int ow = w / 2;
        for (int r = 0; r < rows; r++)
        {
            int t = 2 * r * w;
            for (int o = 0; ; o += 4)
            {
                if (o > ow - 4) o = ow - 4;
                int i0 = t + 2 * o, q = r * ow + o;
                var m = Vector128.LoadUnsafe(ref Y, (nuint)q);
                var g = Vector128.LoadUnsafe(ref DY, (nuint)q);
                Backward(ref X, ref DX, i0, w, PairLow(m), PairLow(g));
                Backward(ref X, ref DX, i0 + 4, w, PairHigh(m), PairHigh(g));
                if (o == ow - 4) break;
            }
        }

        // Two windows from input column i: each window's gradient to its first maximum (a, b, c, d order).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Backward(ref float X, ref float DX, int i, int w, Vector128<float> m, Vector128<float> g)
        {
            var top = Vector128.Equals(Vector128.LoadUnsafe(ref X, (nuint)i), m);
            var bottom = Vector128.Equals(Vector128.LoadUnsafe(ref X, (nuint)(i + w)), m);
            var oddLanes = Vector128.Create(0, -1, 0, -1).AsSingle();
            var topSwapped = Vector128.Shuffle(top, Vector128.Create(1, 0, 3, 2));
            var takeTop = Vector128.AndNot(top, topSwapped & oddLanes);
            var takeBottom = Vector128.AndNot(Vector128.AndNot(bottom, top | topSwapped), Vector128.Shuffle(bottom, Vector128.Create(1, 0, 3, 2)) & oddLanes);
            (takeTop & g).StoreUnsafe(ref DX, (nuint)i);
            (takeBottom & g).StoreUnsafe(ref DX, (nuint)(i + w));
        }
    }

    // [a0 a2 b0 b2], [a1 a3 b1 b3], [a0 a0 a1 a1] and [a2 a2 a3 a3]: one instruction each on SSE and AdvSimd.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> EvenLanes(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Shuffle(a, b, 0b10_00_10_00) : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.UnzipEven(a, b) : Vector128.Create(a[0], a[2], b[0], b[2]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> OddLanes128(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Shuffle(a, b, 0b11_01_11_01) : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.UnzipOdd(a, b) : Vector128.Create(a[1], a[3], b[1], b[3]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> PairLow(Vector128<float> a) =>
        Sse.IsSupported ? Sse.UnpackLow(a, a) : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipLow(a, a) : Vector128.Create(a[0], a[0], a[1], a[1]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> PairHigh(Vector128<float> a) =>
        Sse.IsSupported ? Sse.UnpackHigh(a, a) : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipHigh(a, a) : Vector128.Create(a[2], a[2], a[3], a[3]);

    /// <summary>y = scale · (sum of each size×size block) for each of the given planes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumPool(ReadOnlySpan<float> x, Span<float> y, int planes, int h, int w, int size, float scale)
    {
        int oh = h / size, ow = w / size;
        for (int q = 0; q < planes; q++)
        {
            var src = x.Slice(q * h * w, h * w);
            var dst = y.Slice(q * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float s = 0;
                    for (int ky = 0; ky < size; ky++)
                        for (int kx = 0; kx < size; kx++) s += src[(oy * size + ky) * w + ox * size + kx];
                    dst[oy * ow + ox] = s * scale;
                }
        }
    }

    /// <summary>The adjoint of <see cref="SumPool"/>: dx = scale · dy copied to every cell of its block (cells outside blocks get 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SpreadPool(ReadOnlySpan<float> dy, Span<float> dx, int planes, int h, int w, int size, float scale)
    {
        int oh = h / size, ow = w / size;
        dx[..(planes * h * w)].Clear();
        for (int q = 0; q < planes; q++)
        {
            var src = dy.Slice(q * oh * ow, oh * ow);
            var dst = dx.Slice(q * h * w, h * w);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float g = src[oy * ow + ox] * scale;
                    for (int ky = 0; ky < size; ky++)
                        for (int kx = 0; kx < size; kx++) dst[(oy * size + ky) * w + ox * size + kx] = g;
                }
        }
    }
}
