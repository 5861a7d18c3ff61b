// Grey-level morphology with square structuring elements: the running minimum and maximum of van Herk
// and Gil & Werman (three comparisons per pixel whatever the size), separable over rows and columns.
// A closing (maximum, then minimum) removes every dark feature narrower than the square, such as pen
// strokes, and keeps wider ones, such as a shadow, with their edges where they were.
namespace LeNet.Data;

public static class Morphology
{
    /// <summary>Grey closing with a (2r+1)² square: dark details narrower than the square filled in.</summary>
    public static GrayImage Close(GrayImage image, int r) => Filter(Filter(image, r, max: true), r, max: false);

    /// <summary>Grey opening with a (2r+1)² square: bright details narrower than the square removed.</summary>
    public static GrayImage Open(GrayImage image, int r) => Filter(Filter(image, r, max: false), r, max: true);

    /// <summary>Square maximum (dilation) or minimum (erosion) filter of radius r, edges replicated.</summary>
    public static GrayImage Filter(GrayImage image, int r, bool max)
    {
        int w = image.Width, h = image.Height;
        var rows = new GrayImage(w, h);
        var line = new float[Math.Max(w, h)];
        var result = new float[Math.Max(w, h)];
        for (int y = 0; y < h; y++)
        {
            Running(image.Pixels.AsSpan(y * w, w), rows.Pixels.AsSpan(y * w, w), r, max);
        }
        var output = new GrayImage(w, h);
        for (int x = 0; x < w; x++)
        {
            for (int y = 0; y < h; y++) line[y] = rows.Pixels[y * w + x];
            Running(line.AsSpan(0, h), result.AsSpan(0, h), r, max);
            for (int y = 0; y < h; y++) output.Pixels[y * w + x] = result[y];
        }
        return output;
    }

    /// <summary>dst[i] = max (or min) of src[i−r .. i+r], clamped at the ends; O(n) for any r.</summary>
    static void Running(ReadOnlySpan<float> src, Span<float> dst, int r, bool max)
    {
        int n = src.Length, k = 2 * r + 1;
        if (r <= 0) { src.CopyTo(dst); return; }
        // Pad by r on both sides with the edge values, then prefix/suffix extremes per block of k.
        int m = n + 2 * r;
        var padded = new float[m];
        for (int i = 0; i < m; i++) padded[i] = src[Math.Clamp(i - r, 0, n - 1)];
        var g = new float[m];
        var hh = new float[m];
        for (int i = 0; i < m; i++) g[i] = i % k == 0 ? padded[i] : Pick(g[i - 1], padded[i], max);
        for (int i = m - 1; i >= 0; i--) hh[i] = i % k == k - 1 || i == m - 1 ? padded[i] : Pick(hh[i + 1], padded[i], max);
        for (int i = 0; i < n; i++) dst[i] = Pick(hh[i], g[i + k - 1], max);
    }

    static float Pick(float a, float b, bool max) => max ? MathF.Max(a, b) : MathF.Min(a, b);

    /// <summary>Mean over a (2r+1)² square (edges replicated), by running sums.</summary>
    public static GrayImage BoxBlur(GrayImage image, int r)
    {
        int w = image.Width, h = image.Height;
        var rows = new GrayImage(w, h);
        for (int y = 0; y < h; y++) BoxLine(image.Pixels.AsSpan(y * w, w), rows.Pixels.AsSpan(y * w, w), r);
        var output = new GrayImage(w, h);
        var line = new float[h];
        var result = new float[h];
        for (int x = 0; x < w; x++)
        {
            for (int y = 0; y < h; y++) line[y] = rows.Pixels[y * w + x];
            BoxLine(line, result, r);
            for (int y = 0; y < h; y++) output.Pixels[y * w + x] = result[y];
        }
        return output;
    }

    static void BoxLine(ReadOnlySpan<float> src, Span<float> dst, int r)
    {
        int n = src.Length;
        double sum = 0;
        for (int i = -r; i <= r; i++) sum += src[Math.Clamp(i, 0, n - 1)];
        for (int i = 0; i < n; i++)
        {
            dst[i] = (float)(sum / (2 * r + 1));
            sum += src[Math.Clamp(i + r + 1, 0, n - 1)] - src[Math.Clamp(i - r, 0, n - 1)];
        }
    }
}
