// Unfolds image patches into the columns of a matrix so a convolution becomes one GEMM, and folds
// column gradients back. Stride 1 only (all LeNet convolutions are stride 1); zero padding.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LeNet.Kernels;

public static class Im2Col
{
    /// <summary>
    /// col[(ci·kh + ky)·kw + kx, s·oh·ow + oy·ow + ox] = x[s, ci, oy + ky − pad, ox + kx − pad] (0 outside).
    /// x is (n, c, h, w); col is (c·kh·kw, n·oh·ow).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unfold(ReadOnlySpan<float> x, int n, int c, int h, int w, int kh, int kw, int pad,
        int oh, int ow, Span<float> col)
    {
        int l = n * oh * ow, plane = h * w;
        if (x.Length < n * c * plane || col.Length < c * kh * kw * l) throw new ArgumentException("Unfold: buffers smaller than their dimensions.");
        // Row copies are short (10–32 floats), so the loop works on refs without per-row slicing.
        ref float X = ref MemoryMarshal.GetReference(x);
        ref float Col = ref MemoryMarshal.GetReference(col);
        for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                {
                    ref float dst = ref Unsafe.Add(ref Col, ((ci * kh + ky) * kw + kx) * l);
                    int x0 = Math.Max(0, pad - kx), x1 = Math.Min(ow, w + pad - kx), width = Math.Max(0, x1 - x0);
                    for (int s = 0; s < n; s++)
                    {
                        ref float src = ref Unsafe.Add(ref X, (s * c + ci) * plane);
                        for (int oy = 0; oy < oh; oy++)
                        {
                            ref float row = ref Unsafe.Add(ref dst, (s * oh + oy) * ow);
                            int iy = oy + ky - pad;
                            if ((uint)iy >= (uint)h || width == 0) { MemoryMarshal.CreateSpan(ref row, ow).Clear(); continue; }
                            for (int i = 0; i < x0; i++) Unsafe.Add(ref row, i) = 0;
                            CopyRow(ref Unsafe.Add(ref row, x0), ref Unsafe.Add(ref src, iy * w + x0 + kx - pad), width);
                            for (int i = x1; i < ow; i++) Unsafe.Add(ref row, i) = 0;
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Unfold"/>: dx[s, ci, iy, ix] += every column entry that read it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fold(ReadOnlySpan<float> col, int n, int c, int h, int w, int kh, int kw, int pad,
        int oh, int ow, Span<float> dx)
    {
        int l = n * oh * ow, plane = h * w;
        if (dx.Length < n * c * plane || col.Length < c * kh * kw * l) throw new ArgumentException("Fold: buffers smaller than their dimensions.");
        ref float Dx = ref MemoryMarshal.GetReference(dx);
        ref float Col = ref MemoryMarshal.GetReference(col);
        for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                {
                    ref float src = ref Unsafe.Add(ref Col, ((ci * kh + ky) * kw + kx) * l);
                    int x0 = Math.Max(0, pad - kx), x1 = Math.Min(ow, w + pad - kx), width = x1 - x0;
                    if (width <= 0) continue;
                    for (int s = 0; s < n; s++)
                    {
                        ref float dst = ref Unsafe.Add(ref Dx, (s * c + ci) * plane);
                        for (int oy = 0; oy < oh; oy++)
                        {
                            int iy = oy + ky - pad;
                            if ((uint)iy >= (uint)h) continue;
                            ref float d = ref Unsafe.Add(ref dst, iy * w + x0 + kx - pad);
                            ref float v = ref Unsafe.Add(ref src, (s * oh + oy) * ow + x0);
                            AddRow(ref d, ref v, width);
                        }
                    }
                }
    }

    // Rows are 8 to 32 floats: whole vectors, the last one overlapping the one before (a copy may
    // write the same value twice), instead of a general memcpy call per row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CopyRow(ref float dst, ref float src, int width)
    {
        if (width >= 8)
        {
            int i = 0;
            for (; i + 8 <= width; i += 8) Vector256.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
            if (i < width) Vector256.LoadUnsafe(ref src, (nuint)(width - 8)).StoreUnsafe(ref dst, (nuint)(width - 8));
        }
        else for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
    }

    /// <summary>dst = src + bias, then max(·, 0) when relu; whole vectors, the last overlapping (dst is not src).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BiasRow(ref float dst, ref float src, float bias, int width, bool relu)
    {
        if (width >= 8)
        {
            var b = Vector256.Create(bias);
            var floor = relu ? Vector256<float>.Zero : Vector256.Create(float.NegativeInfinity);
            int i = 0;
            for (; i + 8 <= width; i += 8) Vector256.Max(Vector256.LoadUnsafe(ref src, (nuint)i) + b, floor).StoreUnsafe(ref dst, (nuint)i);
            if (i < width) Vector256.Max(Vector256.LoadUnsafe(ref src, (nuint)(width - 8)) + b, floor).StoreUnsafe(ref dst, (nuint)(width - 8));
        }
        else
            for (int i = 0; i < width; i++)
            {
                float v = Unsafe.Add(ref src, i) + bias;
                Unsafe.Add(ref dst, i) = relu && !(v > 0) ? 0 : v;
            }
    }

    /// <summary>dst = y &gt; 0 ? dy : 0 (relu's gradient), whole vectors with the last overlapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ReluGradientRow(ref float dst, ref float y, ref float dy, int width)
    {
        if (width >= 8)
        {
            int i = 0;
            for (; i + 8 <= width; i += 8)
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref y, (nuint)i), Vector256<float>.Zero),
                    Vector256.LoadUnsafe(ref dy, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref dst, (nuint)i);
            i = width - 8;
            Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref y, (nuint)i), Vector256<float>.Zero),
                Vector256.LoadUnsafe(ref dy, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref dst, (nuint)i);
        }
        else
            for (int i = 0; i < width; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref y, i) > 0 ? Unsafe.Add(ref dy, i) : 0;
    }

    // An add cannot overlap, so the part past the last whole vector goes in halves and singles.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddRow(ref float d, ref float v, int width)
    {
        int i = 0;
        for (; i + 8 <= width; i += 8)
            (Vector256.LoadUnsafe(ref d, (nuint)i) + Vector256.LoadUnsafe(ref v, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        if (i + 4 <= width)
        {
            (Vector128.LoadUnsafe(ref d, (nuint)i) + Vector128.LoadUnsafe(ref v, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            i += 4;
        }
        for (; i < width; i++) Unsafe.Add(ref d, i) += Unsafe.Add(ref v, i);
    }
}
