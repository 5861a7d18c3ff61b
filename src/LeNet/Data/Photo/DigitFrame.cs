// Stage 5 of the photo pipeline: one digit's ink becomes an MNIST-style 28x28 image, as NIST's digits
// were made (LeCun et al. 1998, Sec. III-A): the ink's box is fitted into 20x20 keeping the aspect
// ratio with area averaging, and centred by its centre of mass in the 28x28 field. The ink keeps its
// grey levels (scaled so that the body of the stroke is full ink), so the anti-aliased edges MNIST
// digits have survive; a stroke that would be thinner than MNIST's at 20x20 (a ballpoint line on a
// large photo) is first thickened to MNIST's width, and a much thicker one (a marker) thinned by up to
// half a pixel at 20x20 on each side.
namespace LeNet.Data;

public static class DigitFrame
{
    const float MnistStroke = 3.0f;   // MNIST's median stroke at 20x20 (2·area / perimeter of its pixels ≥ 128)
    const float ThickStroke = 6f;     // thicker than nearly every MNIST digit (9 in 10 are under 3.7)

    public static byte[] Frame(GrayImage ink, DigitRegion region)
    {
        int w = ink.Width, h = ink.Height;
        var box = region.Box;
        // The region's pixels and a one-pixel ring around them (their anti-aliased edge).
        const int ring = 1;
        int cx0 = Math.Max(0, box.X - ring), cy0 = Math.Max(0, box.Y - ring);
        int cw = Math.Min(w, box.Right + ring) - cx0, ch = Math.Min(h, box.Bottom + ring) - cy0;
        var own = new bool[cw * ch];
        foreach (int p in region.Pixels) own[(p / w - cy0) * cw + p % w - cx0] = true;
        var near = Grow(own, cw, ch, ring);

        // Scale so the body of the stroke is 1: the 75th percentile of the region's own ink.
        var levels = region.Pixels.Select(p => ink.Pixels[p]).ToArray();
        Array.Sort(levels);
        float body = Math.Max(levels.Length > 0 ? levels[(int)(0.75 * (levels.Length - 1))] : 1, 0.05f);
        var crop = new float[cw * ch];
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
                if (near[y * cw + x]) crop[y * cw + x] = Math.Min(1, ink.Pixels[(cy0 + y) * w + cx0 + x] / body);

        // Stroke width as 2·area / perimeter of the region's own pixels.
        int area = 0, perimeter = 0;
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
            {
                if (!own[y * cw + x]) continue;
                area++;
                if (x == 0 || y == 0 || x == cw - 1 || y == ch - 1 || !own[y * cw + x - 1] || !own[y * cw + x + 1] || !own[(y - 1) * cw + x] || !own[(y + 1) * cw + x]) perimeter++;
            }
        float stroke = 2f * area / Math.Max(1, perimeter);
        float scale = 20f / Math.Max(box.Width, box.Height);
        // Thicken a stroke thinner than MNIST's, thin one much thicker (a marker, a canvas brush).
        int grow = (int)MathF.Round((MnistStroke / scale - stroke) / 2);
        if (stroke * scale > ThickStroke) grow = -Math.Min((int)MathF.Round(0.5f / scale), (int)MathF.Round((stroke - MnistStroke / scale) / 4));
        if (grow != 0)
        {
            int pad = Math.Max(0, grow);
            var padded = new GrayImage(cw + 2 * pad, ch + 2 * pad);
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++) padded[x + pad, y + pad] = crop[y * cw + x];
            var changed = Morphology.Filter(padded, Math.Abs(grow), max: grow > 0);
            return Centre(changed.Pixels, changed.Width, changed.Height);
        }
        return Centre(crop, cw, ch);
    }

    /// <summary>Fits an ink image (1 = ink) into 20x20 keeping its aspect ratio and centres it by mass in 28x28.</summary>
    public static byte[] Centre(float[] crop, int cw, int ch)
    {
        // Trim empty rows and columns first, so the box is the ink's.
        int x0 = cw, y0 = ch, x1 = -1, y1 = -1;
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
                if (crop[y * cw + x] > 0.05f) { x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
        if (x1 < 0) return new byte[784];
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
        var box = new float[bw * bh];
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++) box[y * bw + x] = crop[(y0 + y) * cw + x0 + x];

        float s = 20f / Math.Max(bw, bh);
        int tw = Math.Clamp((int)MathF.Round(bw * s), 1, 20), th = Math.Clamp((int)MathF.Round(bh * s), 1, 20);
        var small = Resize.Area(box, bw, bh, tw, th);
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) { float v = small[y * tw + x]; mass += v; mx += v * x; my += v * y; }
        double cx = mass > 0 ? mx / mass : (tw - 1) / 2.0, cy = mass > 0 ? my / mass : (th - 1) / 2.0;
        int ox = Math.Clamp((int)Math.Round(13.5 - cx), 0, 28 - tw), oy = Math.Clamp((int)Math.Round(13.5 - cy), 0, 28 - th);
        var result = new byte[784];
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++)
                result[(y + oy) * 28 + x + ox] = (byte)Math.Clamp((int)MathF.Round(small[y * tw + x] * 255), 0, 255);
        return result;
    }

    static bool[] Grow(bool[] m, int w, int h, int r)
    {
        var g = new bool[m.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                if (!m[y * w + x]) continue;
                for (int dy = -r; dy <= r; dy++)
                    for (int dx = -r; dx <= r; dx++)
                    {
                        int qx = x + dx, qy = y + dy;
                        if (qx >= 0 && qy >= 0 && qx < w && qy < h) g[qy * w + qx] = true;
                    }
            }
        return g;
    }
}
