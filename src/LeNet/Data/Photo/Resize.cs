// Exact area-averaging resize: each target pixel is the mean of the source area it covers, so a
// shrunken stroke keeps its ink as grey and nothing aliases.
namespace LeNet.Data;

public static class Resize
{
    /// <summary>Exact area-averaging resize (each target pixel is the mean of the source area it covers).</summary>
    public static float[] Area(float[] src, int w, int h, int nw, int nh)
    {
        var rows = new float[nw * h];
        for (int y = 0; y < h; y++) Resample1D(src.AsSpan(y * w, w), rows.AsSpan(y * nw, nw), 1, 1);
        var dst = new float[nw * nh];
        var column = new float[h];
        var outColumn = new float[nh];
        for (int x = 0; x < nw; x++)
        {
            for (int y = 0; y < h; y++) column[y] = rows[y * nw + x];
            Resample1D(column, outColumn, 1, 1);
            for (int y = 0; y < nh; y++) dst[y * nw + x] = outColumn[y];
        }
        return dst;
    }

    static void Resample1D(ReadOnlySpan<float> src, Span<float> dst, int srcStride, int dstStride)
    {
        double ratio = (double)src.Length / dst.Length;
        for (int i = 0; i < dst.Length; i++)
        {
            double a = i * ratio, b = (i + 1) * ratio, sum = 0;
            for (int j = (int)a; j < Math.Min(src.Length, (int)Math.Ceiling(b)); j++)
            {
                double overlap = Math.Min(b, j + 1) - Math.Max(a, j);
                if (overlap > 0) sum += overlap * src[j * srcStride];
            }
            dst[i * dstStride] = (float)(sum / ratio);
        }
    }
}
