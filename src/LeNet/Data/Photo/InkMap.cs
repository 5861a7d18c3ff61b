// Stage 2 of the photo pipeline: how much ink is at each pixel, 0 (paper) to 1 (full ink), whatever the
// light. A photo is paper reflectance times the light that falls on it, so the paper's own brightness
// is estimated at every pixel (the background) and each pixel is read relative to it: ink = 1 − I/B.
// The background is a grey closing of the image with a square wider than any stroke: strokes vanish
// from it, while a shadow or a lighting ramp, being wider than the square, stays exactly where it is,
// sharp edge included (a closing keeps straight steps and linear ramps unchanged). Dividing by it
// removes a hard shadow as well as a gentle one, and keeps the grey edges of strokes as grey.
// Light ink on a dark ground (chalk, a drawing app's canvas) is read the other way round: the
// background is an opening, and ink is how far a pixel rises above it.
namespace LeNet.Data;

public sealed record InkMap(GrayImage Ink, GrayImage Background, bool LightInk, float StrokeWidth, float Threshold);

public static class InkMaps
{
    public static InkMap Find(GrayImage gray)
    {
        int w = gray.Width, h = gray.Height, side = Math.Max(w, h);
        var smooth = Morphology.BoxBlur(gray, 1);  // sensor noise would otherwise lift the closing

        // Light ink on a dark ground (a drawing app's canvas, chalk) when the ground, the image with its
        // light details removed, is dark nearly everywhere; a photo of paper, shadowed or not, keeps
        // a good part of its paper light. The width of the strokes then comes from the details darker
        // (or lighter) than their surroundings, narrower than a sixteenth of the image.
        int r0 = Math.Max(side / 16, Math.Min(side / 4, 24));
        var ground = Morphology.Open(smooth, r0);
        bool lightInk = Statistics.Quantile(gray.Pixels, 0.5f) < 0.5f && Statistics.Quantile(ground.Pixels, 0.9f) < 0.35f;
        var hat = RelativeTopHat(smooth, lightInk ? ground : Morphology.Close(smooth, r0), lightInk);
        // Strokes stand out at nearly full strength; the noise of a dim region only part of the way.
        float strokeWidth = StrokeWidth(hat, Math.Max(0.35f, 0.5f * Statistics.Quantile(hat.Pixels, 0.995f)));

        // The square must be wider than a stroke, and no wider: near a shadow's corner a closing fills in
        // as much of the shadow as the square covers.
        int r = (int)Math.Clamp(1.2f * strokeWidth + 3, Math.Max(2, side / 24), Math.Max(3, side / 4));
        // The background of the image itself, not of a smoothed copy: a closing is never darker than the
        // image, so a shadow's edge stays exactly where it is (the noise it lifts is taken out below).
        var background = lightInk ? Morphology.Open(gray, r) : Morphology.Close(gray, r);
        var ratio = RelativeTopHat(gray, background, lightInk);
        // Where the light bends (the foot of a ramp, a shadow's corner) the background is a little off
        // over a wide area; strokes are narrow. Keeping only what is narrower than the square (a white
        // top-hat of the ink) removes the wide part and leaves the strokes at full strength.
        var wide = Morphology.Open(ratio, r);
        var ink = new GrayImage(w, h);
        for (int i = 0; i < ink.Pixels.Length; i++) ink.Pixels[i] = Math.Max(0, ratio.Pixels[i] - wide.Pixels[i]);
        return new InkMap(ink, background, lightInk, strokeWidth, Threshold(ink));
    }

    /// <summary>How much darker (or lighter) than its surroundings each pixel is, relative to them, 0 to 1.</summary>
    static GrayImage RelativeTopHat(GrayImage image, GrayImage surroundings, bool lightInk)
    {
        var hat = new GrayImage(image.Width, image.Height);
        for (int i = 0; i < hat.Pixels.Length; i++)
        {
            float v = image.Pixels[i], b = surroundings.Pixels[i];
            // Relative to the surroundings' brightness (to their darkness for light ink), but never to less
            // than 0.15 of it, so that the noise of a black region does not read as ink.
            hat.Pixels[i] = lightInk ? Math.Clamp((v - b) / MathF.Max(1 - b, 0.15f), 0, 1) : Math.Clamp((b - v) / MathF.Max(b, 0.15f), 0, 1);
        }
        return hat;
    }

    /// <summary>
    /// The width of the strokes above a level: at each such pixel the shorter of its horizontal and
    /// vertical runs, and of those the 80th percentile (a little wide on slanted strokes, never narrow).
    /// </summary>
    static float StrokeWidth(GrayImage g, float level)
    {
        int w = g.Width, h = g.Height;
        var across = new int[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w;)
            {
                if (g[x, y] <= level) { x++; continue; }
                int end = x;
                while (end < w && g[end, y] > level) end++;
                for (int i = x; i < end; i++) across[y * w + i] = end - x;
                x = end;
            }
        var widths = new List<int>();
        for (int x = 0; x < w; x++)
            for (int y = 0; y < h;)
            {
                if (g[x, y] <= level) { y++; continue; }
                int end = y;
                while (end < h && g[x, end] > level) end++;
                for (int i = y; i < end; i++) widths.Add(Math.Min(across[i * w + x], end - y));
                y = end;
            }
        if (widths.Count == 0) return 0;
        widths.Sort();
        return widths[(int)(0.8 * (widths.Count - 1))];
    }

    /// <summary>The ink level that separates strokes from paper: Otsu's, but never below the paper's noise.</summary>
    static float Threshold(GrayImage ink)
    {
        float otsu = Statistics.Otsu(ink.Pixels);
        float noise = Statistics.Quantile(ink.Pixels, 0.5f) + 4 * Statistics.MedianAbsoluteDeviation(ink.Pixels);
        return Math.Clamp(Math.Max(otsu, noise), 0.12f, 0.6f);
    }
}

public static class Statistics
{
    /// <summary>A quantile of values in [0, 1] to 1/1024, by a histogram.</summary>
    public static float Quantile(ReadOnlySpan<float> v, float q)
    {
        Span<int> hist = stackalloc int[1024];
        foreach (var x in v) hist[Math.Clamp((int)(x * 1023.999f), 0, 1023)]++;
        long want = (long)(q * (v.Length - 1)), seen = 0;
        for (int b = 0; b < 1024; b++)
            if ((seen += hist[b]) > want) return (b + 0.5f) / 1024f;
        return 1f;
    }

    public static float MedianAbsoluteDeviation(ReadOnlySpan<float> v)
    {
        float m = Quantile(v, 0.5f);
        var d = new float[v.Length];
        for (int i = 0; i < v.Length; i++) d[i] = MathF.Abs(v[i] - m);
        return Quantile(d, 0.5f);
    }

    /// <summary>Otsu's threshold over a 256-bin histogram of values in [0, 1].</summary>
    public static float Otsu(ReadOnlySpan<float> v)
    {
        Span<double> hist = stackalloc double[256];
        foreach (var x in v) hist[Math.Clamp((int)(x * 255), 0, 255)]++;
        double total = v.Length, sum = 0;
        for (int i = 0; i < 256; i++) sum += i * hist[i];
        double wB = 0, sumB = 0, best = -1;
        int at = 0;
        for (int t = 0; t < 256; t++)
        {
            wB += hist[t];
            if (wB == 0) continue;
            double wF = total - wB;
            if (wF == 0) break;
            sumB += t * hist[t];
            double mB = sumB / wB, mF = (sum - sumB) / wF, between = wB * wF * (mB - mF) * (mB - mF);
            if (between > best) { best = between; at = t; }
        }
        return (at + 1) / 255f;
    }
}
