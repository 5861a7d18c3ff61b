// The ink of one written digit (or a row of them) as coverage in [0, 1], before it is put on paper.
// Four sources: MNIST digits with their own stroke, MNIST digits redrawn with a pen of a chosen width
// along their centre line (thin ballpoint, canvas brush), pen paths from templates, and fonts.
using SkiaSharp;

namespace LeNet.PhotoLab;

public sealed class Glyph(float[] alpha, int width, int height)
{
    public float[] Alpha { get; } = alpha;
    public int Width { get; } = width;
    public int Height { get; } = height;

    public float At(int x, int y) => x < 0 || y < 0 || x >= Width || y >= Height ? 0 : Alpha[y * Width + x];

    /// <summary>Bilinear coverage at a point given in glyph pixels.</summary>
    public float Sample(float x, float y)
    {
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float tx = x - x0, ty = y - y0;
        return (1 - ty) * ((1 - tx) * At(x0, y0) + tx * At(x0 + 1, y0)) + ty * ((1 - tx) * At(x0, y0 + 1) + tx * At(x0 + 1, y0 + 1));
    }

    /// <summary>An MNIST digit (white on black, 784 bytes) scaled so its ink is <paramref name="height"/> pixels tall, stroke as written.</summary>
    public static Glyph FromMnist(ReadOnlySpan<byte> digit28, int height)
    {
        var (x0, y0, x1, y1) = InkBox(digit28);
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
        float scale = (float)height / bh;
        int w = Math.Max(1, (int)MathF.Round(bw * scale));
        using var small = new SKBitmap(new SKImageInfo(bw + 2, bh + 2, SKColorType.Gray8, SKAlphaType.Opaque));
        var s = small.GetPixelSpan();
        s.Clear();
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++) s[(y + 1) * (bw + 2) + x + 1] = digit28[(y0 + y) * 28 + x0 + x];
        int tw = w + (int)MathF.Round(2 * scale), th = height + (int)MathF.Round(2 * scale);
        using var big = small.Resize(new SKImageInfo(tw, th, SKColorType.Gray8, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell));
        var b = big.GetPixelSpan();
        var alpha = new float[tw * th];
        for (int i = 0; i < alpha.Length; i++) alpha[i] = Math.Clamp((b[i] / 255f - 0.3f) / 0.15f, 0, 1);
        return new Glyph(alpha, tw, th);
    }

    /// <summary>An MNIST digit redrawn along its centre line with a round pen <paramref name="pen"/> pixels wide.</summary>
    public static Glyph FromMnistCentreLine(ReadOnlySpan<byte> digit28, int height, float pen)
    {
        var (mask, _, w4, h4, bh) = CentreLine(digit28);
        float scale = (float)height / (bh * CentreScale);
        int tw = (int)MathF.Ceiling(w4 * scale + pen + 4), th = (int)MathF.Ceiling(h4 * scale + pen + 4);
        using var bitmap = new SKBitmap(new SKImageInfo(tw, th, SKColorType.Alpha8, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true, StrokeWidth = pen, StrokeCap = SKStrokeCap.Round, Style = SKPaintStyle.Stroke })
        {
            canvas.Clear(SKColors.Transparent);
            float off = pen / 2 + 2;
            for (int y = 0; y < h4; y++)
                for (int x = 0; x < w4; x++)
                {
                    if (!mask[y * w4 + x]) continue;
                    bool alone = true;
                    foreach (var (dx, dy) in Forward)
                    {
                        int nx = x + dx, ny = y + dy;
                        if (nx < 0 || ny < 0 || nx >= w4 || ny >= h4) continue;
                        if (mask[ny * w4 + nx]) { canvas.DrawLine(off + x * scale, off + y * scale, off + nx * scale, off + ny * scale, paint); alone = false; }
                    }
                    if (alone) canvas.DrawPoint(off + x * scale, off + y * scale, paint);
                }
        }
        return FromAlpha8(bitmap);
    }

    static readonly (int, int)[] Forward = [(1, 0), (-1, 1), (0, 1), (1, 1)];

    const int CentreScale = 4;  // the centre line is found at 4x MNIST's resolution

    /// <summary>The digit's centre line (one pixel wide, at 4x) and the ink it was thinned from.</summary>
    static (bool[] Line, bool[] Ink, int Width, int Height, int InkHeight) CentreLine(ReadOnlySpan<byte> digit28)
    {
        var (x0, y0, x1, y1) = InkBox(digit28);
        const int k = CentreScale;
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1, w4 = (bw + 2) * k, h4 = (bh + 2) * k;
        using var small = new SKBitmap(new SKImageInfo(bw + 2, bh + 2, SKColorType.Gray8, SKAlphaType.Opaque));
        var s = small.GetPixelSpan();
        s.Clear();
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++) s[(y + 1) * (bw + 2) + x + 1] = digit28[(y0 + y) * 28 + x0 + x];
        using var big = small.Resize(new SKImageInfo(w4, h4, SKColorType.Gray8, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell));
        var b = big.GetPixelSpan();
        var ink = new bool[w4 * h4];
        for (int i = 0; i < ink.Length; i++) ink[i] = b[i] > 160;
        var mask = (bool[])ink.Clone();
        Thin(mask, w4, h4);
        Prune(mask, w4, h4, 6);
        return (mask, ink, w4, h4, bh);
    }

    /// <summary>
    /// True when a pen drawn along the digit's centre line writes the same shape: as many strokes
    /// (pieces of ink) and as many loops as the digit has. Thinning breaks some strokes (a two-pixel
    /// diagonal can vanish) and turns specks inside a thick stroke into extra loops; such a redrawn
    /// digit no longer shows what its label says.
    /// </summary>
    public static bool CentreLineKeepsShape(ReadOnlySpan<byte> digit28)
    {
        const int k = CentreScale;
        var (line, ink, w, h, _) = CentreLine(digit28);
        return Pieces(ink, w, h, k * k) == Pieces(line, w, h, k) && Loops(ink, w, h, 2 * k * k) == Loops(line, w, h, 2 * k * k);
    }

    /// <summary>8-connected pieces of at least <paramref name="minArea"/> pixels.</summary>
    static int Pieces(bool[] m, int w, int h, int minArea) => Components(m, w, h, on: true, eight: true, minArea, borderCounts: true);

    /// <summary>Holes (4-connected background not reaching the border) of at least <paramref name="minArea"/> pixels.</summary>
    static int Loops(bool[] m, int w, int h, int minArea) => Components(m, w, h, on: false, eight: false, minArea, borderCounts: false);

    static int Components(bool[] m, int w, int h, bool on, bool eight, int minArea, bool borderCounts)
    {
        var seen = new bool[m.Length];
        var stack = new Stack<int>();
        int count = 0;
        for (int start = 0; start < m.Length; start++)
        {
            if (seen[start] || m[start] != on) continue;
            int area = 0;
            bool border = false;
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop(), px = p % w, py = p / w;
                area++;
                if (px == 0 || py == 0 || px == w - 1 || py == h - 1) border = true;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        if ((dx == 0 && dy == 0) || (!eight && dx != 0 && dy != 0)) continue;
                        int qx = px + dx, qy = py + dy, q = qy * w + qx;
                        if (qx < 0 || qy < 0 || qx >= w || qy >= h || seen[q] || m[q] != on) continue;
                        seen[q] = true;
                        stack.Push(q);
                    }
            }
            if (area >= minArea && (borderCounts || !border)) count++;
        }
        return count;
    }

    /// <summary>A digit from a pen-path template, <paramref name="height"/> tall, with random jitter and slant.</summary>
    public static Glyph FromTemplate(int digit, int height, float pen, Rng rng)
    {
        float scale = height / 140f;
        int w = (int)MathF.Ceiling(100 * scale + pen + 0.4f * height), h = (int)MathF.Ceiling(height + pen + 4);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Alpha8, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true, StrokeWidth = pen / scale, StrokeCap = SKStrokeCap.Round, StrokeJoin = SKStrokeJoin.Round, Style = SKPaintStyle.Stroke })
        {
            canvas.Clear(SKColors.Transparent);
            canvas.Translate(pen / 2 + 0.2f * height, pen / 2 + 2);
            canvas.Scale(scale);
            float slant = rng.Uniform(-0.25f, 0.1f);
            canvas.Concat(new SKMatrix(1, slant, -slant * 140 / 2, 0, 1, 0, 0, 0, 1));
            using var path = Templates.Path(digit, () => rng.Uniform(-4, 4));
            canvas.DrawPath(path, paint);
        }
        return FromAlpha8(bitmap);
    }

    /// <summary>A digit in a font, its ink <paramref name="height"/> pixels tall.</summary>
    public static Glyph FromFont(int digit, SKTypeface typeface, int height)
    {
        using var font = new SKFont(typeface, 100);
        string text = digit.ToString();
        font.MeasureText(text, out var bounds);
        float size = 100 * height / Math.Max(1, bounds.Height);
        font.Size = size;
        font.MeasureText(text, out bounds);
        int w = (int)MathF.Ceiling(bounds.Width) + 8, h = (int)MathF.Ceiling(bounds.Height) + 8;
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Alpha8, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        {
            canvas.Clear(SKColors.Transparent);
            canvas.DrawText(text, 4 - bounds.Left, 4 - bounds.Top, font, paint);
        }
        return FromAlpha8(bitmap);
    }

    /// <summary>Glyphs side by side on one baseline, <paramref name="gaps"/>[i] pixels between glyph i and i+1 (negative: touching).</summary>
    public static Glyph Row(IReadOnlyList<Glyph> glyphs, IReadOnlyList<int> gaps, IReadOnlyList<int> lifts)
    {
        int h = glyphs.Max(g => g.Height) + lifts.Max(l => Math.Abs(l)) * 2;
        var xs = new int[glyphs.Count];
        int x = 0;
        for (int i = 0; i < glyphs.Count; i++) { xs[i] = x; x += glyphs[i].Width + (i < gaps.Count ? gaps[i] : 0); }
        int w = xs[^1] + glyphs[^1].Width;
        var alpha = new float[w * h];
        for (int i = 0; i < glyphs.Count; i++)
        {
            var g = glyphs[i];
            int top = h - g.Height - lifts.Max(l => Math.Abs(l)) + lifts[i];
            for (int y = 0; y < g.Height; y++)
                for (int gx = 0; gx < g.Width; gx++)
                {
                    int o = (top + y) * w + xs[i] + gx;
                    alpha[o] = Math.Max(alpha[o], g.Alpha[y * g.Width + gx]);
                }
        }
        return new Glyph(alpha, w, h);
    }

    static Glyph FromAlpha8(SKBitmap bitmap)
    {
        var px = bitmap.GetPixelSpan();
        var alpha = new float[bitmap.Width * bitmap.Height];
        for (int i = 0; i < alpha.Length; i++) alpha[i] = px[i] / 255f;
        return new Glyph(alpha, bitmap.Width, bitmap.Height);
    }

    internal static (int X0, int Y0, int X1, int Y1) InkBox(ReadOnlySpan<byte> digit28)
    {
        int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                if (digit28[y * 28 + x] > 30) { x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
        return x1 < 0 ? (0, 0, 27, 27) : (x0, y0, x1, y1);
    }

    /// <summary>Removes spurs (branches shorter than <paramref name="steps"/> pixels) that thinning leaves on thick strokes.</summary>
    static void Prune(bool[] m, int w, int h, int steps)
    {
        var original = (bool[])m.Clone();
        var removed = new List<int>();
        for (int s = 0; s < steps; s++)
        {
            var ends = new List<int>();
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                    if (m[y * w + x] && Neighbours(m, w, x, y) == 1) ends.Add(y * w + x);
            foreach (var e in ends) m[e] = false;
            removed.AddRange(ends);
        }
        // Grow the surviving branches back along the pixels removed (real stroke ends regain their length).
        for (int s = 0; s < steps; s++)
            foreach (var p in removed)
                if (!m[p] && original[p] && Neighbours(m, w, p % w, p / w) == 1 && TouchesEnd(m, w, p)) m[p] = true;
    }

    static int Neighbours(bool[] m, int w, int x, int y)
    {
        int n = 0;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                if ((dx != 0 || dy != 0) && m[(y + dy) * w + x + dx]) n++;
        return n;
    }

    /// <summary>True when the one neighbour of p is itself an end of a branch (so growing p extends a stroke, not a spur's stump).</summary>
    static bool TouchesEnd(bool[] m, int w, int p)
    {
        int x = p % w, y = p / w;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                if ((dx != 0 || dy != 0) && m[(y + dy) * w + x + dx]) return Neighbours(m, w, x + dx, y + dy) <= 1;
        return false;
    }

    /// <summary>Zhang–Suen thinning of a binary image to one-pixel lines.</summary>
    static void Thin(bool[] m, int w, int h)
    {
        var remove = new List<int>();
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int pass = 0; pass < 2; pass++)
            {
                remove.Clear();
                for (int y = 1; y < h - 1; y++)
                    for (int x = 1; x < w - 1; x++)
                    {
                        if (!m[y * w + x]) continue;
                        bool p2 = m[(y - 1) * w + x], p3 = m[(y - 1) * w + x + 1], p4 = m[y * w + x + 1], p5 = m[(y + 1) * w + x + 1],
                             p6 = m[(y + 1) * w + x], p7 = m[(y + 1) * w + x - 1], p8 = m[y * w + x - 1], p9 = m[(y - 1) * w + x - 1];
                        int b = (p2 ? 1 : 0) + (p3 ? 1 : 0) + (p4 ? 1 : 0) + (p5 ? 1 : 0) + (p6 ? 1 : 0) + (p7 ? 1 : 0) + (p8 ? 1 : 0) + (p9 ? 1 : 0);
                        if (b < 2 || b > 6) continue;
                        bool[] ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2];
                        int a = 0;
                        for (int i = 0; i < 8; i++) if (!ring[i] && ring[i + 1]) a++;
                        if (a != 1) continue;
                        if (pass == 0 ? (p2 && p4 && p6) || (p4 && p6 && p8) : (p2 && p4 && p8) || (p2 && p6 && p8)) continue;
                        remove.Add(y * w + x);
                    }
                foreach (var i in remove) m[i] = false;
                if (remove.Count > 0) changed = true;
            }
        }
    }
}
