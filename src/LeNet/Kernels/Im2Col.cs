// Unfolds image patches into the columns of a matrix so a convolution becomes one GEMM, and folds
// column gradients back. Stride 1 only (all LeNet convolutions are stride 1); zero padding.
using System.Numerics.Tensors;

namespace LeNet.Kernels;

public static class Im2Col
{
    /// <summary>
    /// col[(ci·kh + ky)·kw + kx, s·oh·ow + oy·ow + ox] = x[s, ci, oy + ky − pad, ox + kx − pad] (0 outside).
    /// x is (n, c, h, w); col is (c·kh·kw, n·oh·ow).
    /// </summary>
    public static void Unfold(ReadOnlySpan<float> x, int n, int c, int h, int w, int kh, int kw, int pad,
        int oh, int ow, Span<float> col)
    {
        int l = n * oh * ow, plane = h * w;
        for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                {
                    var dst = col.Slice(((ci * kh + ky) * kw + kx) * l, l);
                    int x0 = Math.Max(0, pad - kx), x1 = Math.Min(ow, w + pad - kx);
                    for (int s = 0; s < n; s++)
                    {
                        var src = x.Slice((s * c + ci) * plane, plane);
                        for (int oy = 0; oy < oh; oy++)
                        {
                            var row = dst.Slice((s * oh + oy) * ow, ow);
                            int iy = oy + ky - pad;
                            if ((uint)iy >= (uint)h || x1 <= x0) { row.Clear(); continue; }
                            row[..x0].Clear();
                            src.Slice(iy * w + x0 + kx - pad, x1 - x0).CopyTo(row[x0..x1]);
                            row[x1..].Clear();
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Unfold"/>: dx[s, ci, iy, ix] += every column entry that read it.</summary>
    public static void Fold(ReadOnlySpan<float> col, int n, int c, int h, int w, int kh, int kw, int pad,
        int oh, int ow, Span<float> dx)
    {
        int l = n * oh * ow, plane = h * w;
        for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                {
                    var src = col.Slice(((ci * kh + ky) * kw + kx) * l, l);
                    int x0 = Math.Max(0, pad - kx), x1 = Math.Min(ow, w + pad - kx);
                    if (x1 <= x0) continue;
                    for (int s = 0; s < n; s++)
                    {
                        var dst = dx.Slice((s * c + ci) * plane, plane);
                        for (int oy = 0; oy < oh; oy++)
                        {
                            int iy = oy + ky - pad;
                            if ((uint)iy >= (uint)h) continue;
                            var d = dst.Slice(iy * w + x0 + kx - pad, x1 - x0);
                            TensorPrimitives.Add(d, src.Slice((s * oh + oy) * ow + x0, x1 - x0), d);
                        }
                    }
                }
    }
}
