// Turns a photo or drawing of one digit into an MNIST-style 28x28 image, as NIST's digits were made
// (LeCun et al. 1998, Sec. III-A): the ink is separated from the background, its bounding box is
// fitted into 20x20 keeping the aspect ratio with anti-aliasing, and the result is centred by its
// centre of mass in a 28x28 field. For photos of paper this also: reads the EXIF orientation,
// inverts a light background, flattens uneven lighting, drops specks and page edges, and
// normalises the stroke width (a thin pen line on a large photo would otherwise vanish at 20x20).
// Not handled: several digits in one image (the largest ink plus its neighbours is read as one).
using SkiaSharp;

namespace LeNet.Data;

public sealed record PreprocessedDigit(byte[] Pixels28, int SourceWidth, int SourceHeight, bool Inverted);

public static class DigitPreprocessor
{
    public const long MaxMegapixels = 50;
    const int WorkingSide = 512;  // longest side the search for ink works at

    /// <summary>Decodes an image file (PNG, JPEG, BMP, GIF, WebP, ...) and preprocesses it.</summary>
    public static PreprocessedDigit FromFile(string path, long maxPixels = MaxMegapixels * 1_000_000)
    {
        if (!File.Exists(path)) throw new InvalidImageException($"{path}: file not found.");
        using var stream = File.OpenRead(path);
        return FromStream(stream, Path.GetFileName(path), maxPixels);
    }

    public static PreprocessedDigit FromBytes(byte[] data, string name, long maxPixels = MaxMegapixels * 1_000_000, int maxSide = int.MaxValue)
    {
        using var ms = new MemoryStream(data, writable: false);
        return FromStream(ms, name, maxPixels, maxSide);
    }

    /// <summary>Decodes and preprocesses; images over <paramref name="maxPixels"/> or with a side over <paramref name="maxSide"/> are refused before decoding.</summary>
    public static PreprocessedDigit FromStream(Stream stream, string name, long maxPixels = MaxMegapixels * 1_000_000, int maxSide = int.MaxValue)
    {
        using var managed = new SKManagedStream(stream);
        using var codec = SKCodec.Create(managed, out var status);
        if (codec is null)
            throw new InvalidImageException(status is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                ? $"{name} is not a readable image: {Describe(status)}."
                : $"{name} is not an image LeNet can read (PNG, JPEG, BMP, GIF, WebP).");
        var info = codec.Info;
        long pixels = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0) throw new InvalidImageException($"{name} has no pixels.");
        if (info.Width > maxSide || info.Height > maxSide)
            throw new ImageTooLargeException($"{name} is too large: {info.Width}x{info.Height}; the limit is {maxSide}x{maxSide}.");
        if (pixels > maxPixels)
            throw new ImageTooLargeException($"{name} is too large: {info.Width}x{info.Height} is {pixels / 1e6:F1} megapixels; the limit is {maxPixels / 1e6:F0}.");

        using var bitmap = Decode(codec, info, name);
        using var oriented = Orient(bitmap, codec.EncodedOrigin);
        var (gray, w, h) = ToGray(oriented, WorkingSide);
        return FromGray(gray, w, h, info.Width, info.Height, name);
    }

    // Decoding memory is bounded by what the preprocessor needs, not by the size a header declares:
    // a large image is decoded at a reduced scale where the codec can (JPEG); otherwise whole, up to
    // FullDecodePixels (64 MB of pixels), and box-filtered down to at most WorkingSide per side at once,
    // so nothing after the decode holds more than the small image. A file that ends early is refused.
    const long FullDecodePixels = 16_000_000;

    static SKBitmap Decode(SKCodec codec, SKImageInfo info, string name)
    {
        int longest = Math.Max(info.Width, info.Height);
        if (longest <= 2 * WorkingSide) return DecodeWhole(codec, new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), name);
        var scaled = codec.GetScaledDimensions((float)WorkingSide / longest);
        if (scaled.Width > 0 && scaled.Height > 0 && (long)scaled.Width * scaled.Height * 4 <= (long)info.Width * info.Height)
            return DecodeWhole(codec, new SKImageInfo(scaled.Width, scaled.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), name);
        if ((long)info.Width * info.Height > FullDecodePixels)
            throw new ImageTooLargeException($"{name} is too large to read: {info.Width}x{info.Height}, and its format cannot be decoded at a reduced size; the limit is {FullDecodePixels / 1_000_000} megapixels.");
        using var whole = DecodeWhole(codec, new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), name);
        return BoxDown(whole, WorkingSide);
    }

    static SKBitmap DecodeWhole(SKCodec codec, SKImageInfo decodeInfo, string name)
    {
        var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(decodeInfo))
        {
            bitmap.Dispose();
            throw new ImageTooLargeException($"{name} is too large to decode here ({decodeInfo.Width}x{decodeInfo.Height}).");
        }
        var result = codec.GetPixels(decodeInfo, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidImageException($"{name} could not be decoded: {Describe(result)}.");
        }
        return bitmap;
    }

    /// <summary>The image averaged over boxes to at most maxSide per side; colour weighted by opacity.</summary>
    static SKBitmap BoxDown(SKBitmap src, int maxSide)
    {
        int w = src.Width, h = src.Height, longest = Math.Max(w, h);
        int ow = Math.Max(1, (int)((long)w * maxSide / longest)), oh = Math.Max(1, (int)((long)h * maxSide / longest));
        var sums = new float[ow * oh * 4];
        var counts = new int[ow * oh];
        var px = src.GetPixelSpan();
        for (int y = 0; y < h; y++)
        {
            int rowOut = (int)((long)y * oh / h) * ow;
            for (int x = 0; x < w; x++)
            {
                int o = rowOut + (int)((long)x * ow / w), i = 4 * (y * w + x);
                float a = px[i + 3];
                sums[4 * o] += px[i] * a; sums[4 * o + 1] += px[i + 1] * a; sums[4 * o + 2] += px[i + 2] * a; sums[4 * o + 3] += a;
                counts[o]++;
            }
        }
        var dst = new SKBitmap(new SKImageInfo(ow, oh, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var d = dst.GetPixelSpan();
        for (int i = 0; i < ow * oh; i++)
        {
            float a = sums[4 * i + 3];
            for (int c = 0; c < 3; c++) d[4 * i + c] = (byte)Math.Clamp(MathF.Round(a > 0 ? sums[4 * i + c] / a : 0), 0, 255);
            d[4 * i + 3] = (byte)Math.Clamp(MathF.Round(counts[i] > 0 ? a / counts[i] : 0), 0, 255);
        }
        return dst;
    }

    static string Describe(SKCodecResult r) => r switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated (it ends before its last row)",
        SKCodecResult.ErrorInInput => "the file is truncated or corrupted",
        SKCodecResult.InvalidInput => "the file is corrupted",
        SKCodecResult.Unimplemented => "this kind of image is not supported",
        _ => r.ToString(),
    };

    /// <summary>Preprocesses a grey image given as rows of floats in [0, 1] (any polarity).</summary>
    public static PreprocessedDigit FromGray(float[] gray, int w, int h, int sourceWidth, int sourceHeight, string name)
    {
        // Already MNIST-format (28x28, dark background): nothing to find or fit.
        if (w == 28 && h == 28 && Median(gray) < 0.5f)
            return new PreprocessedDigit(gray.Select(v => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255)).ToArray(), sourceWidth, sourceHeight, false);

        bool invert = Median(gray) > 0.5f;
        var ink = new float[gray.Length];
        for (int i = 0; i < ink.Length; i++) ink[i] = invert ? 1 - gray[i] : gray[i];
        SubtractBackground(ink, w, h);

        float max = 0;
        foreach (var v in ink) max = Math.Max(max, v);
        if (max < 0.08f) throw new NoDigitException($"{name}: no digit found (the image is blank or has too little contrast).");
        float threshold = Math.Max(Otsu(ink), 0.25f * max);
        var mask = new bool[ink.Length];
        for (int i = 0; i < ink.Length; i++) mask[i] = ink[i] >= threshold;
        KeepDigitComponents(mask, w, h);

        var box = BoundingBox(mask, w, h) ?? throw new NoDigitException($"{name}: no digit found.");
        var digit = FitAndCentre(mask, w, box);
        return new PreprocessedDigit(digit, sourceWidth, sourceHeight, invert);
    }

    // ---- decoding ----------------------------------------------------------------------------

    static SKBitmap Orient(SKBitmap src, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or SKEncodedOrigin.Default) return src.Copy();
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var dst = new SKBitmap(new SKImageInfo(swap ? src.Height : src.Width, swap ? src.Width : src.Height, src.ColorType, src.AlphaType));
        using var canvas = new SKCanvas(dst);
        float w = src.Width, h = src.Height;
        var m = origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
            SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
            _ => SKMatrix.Identity,
        };
        canvas.SetMatrix(m);
        canvas.DrawBitmap(src, 0, 0);
        return dst;
    }

    /// <summary>Luma in [0, 1], transparency composited over the tone that contrasts with the opaque pixels, at most maxSide.</summary>
    static (float[] Gray, int W, int H) ToGray(SKBitmap bitmap, int maxSide)
    {
        int w = bitmap.Width, h = bitmap.Height;
        var px = bitmap.GetPixelSpan();
        var luma = new float[w * h];
        var alpha = new float[w * h];
        double opaqueSum = 0, opaqueCount = 0;
        bool translucent = false;
        for (int i = 0; i < w * h; i++)
        {
            float r = px[4 * i], g = px[4 * i + 1], b = px[4 * i + 2], a = px[4 * i + 3] / 255f;
            luma[i] = (0.299f * r + 0.587f * g + 0.114f * b) / 255f;
            alpha[i] = a;
            if (a < 0.99f) translucent = true;
            if (a > 0.5f) { opaqueSum += luma[i]; opaqueCount++; }
        }
        if (translucent)
        {
            // Ink drawn on a transparent canvas: put it on the opposite tone so it stays visible.
            float backdrop = opaqueCount > 0 && opaqueSum / opaqueCount > 0.5 ? 0f : 1f;
            for (int i = 0; i < luma.Length; i++) luma[i] = alpha[i] * luma[i] + (1 - alpha[i]) * backdrop;
        }
        int side = Math.Max(w, h);
        if (side <= maxSide) return (luma, w, h);
        float s = (float)maxSide / side;
        int nw = Math.Max(1, (int)MathF.Round(w * s)), nh = Math.Max(1, (int)MathF.Round(h * s));
        return (AreaResize(luma, w, h, nw, nh), nw, nh);
    }

    // ---- finding the ink ---------------------------------------------------------------------

    static float Median(float[] v) => Median(v, 0, v.Length);

    /// <summary>Median of values in [0, 1] to 1/256 by a histogram, O(n).</summary>
    static float Median(ReadOnlySpan<float> v, int start, int count)
    {
        Span<int> hist = stackalloc int[256];
        for (int i = start; i < start + count; i++) hist[Math.Clamp((int)(v[i] * 255.999f), 0, 255)]++;
        int half = count / 2, seen = 0;
        for (int b = 0; b < 256; b++)
            if ((seen += hist[b]) > half) return (b + 0.5f) / 256f;
        return 1f;
    }

    /// <summary>Removes slowly varying background (shading, paper tone): block medians, eroded, bilinear.</summary>
    static void SubtractBackground(float[] ink, int w, int h)
    {
        const int grid = 12;
        int gx = Math.Min(grid, w), gy = Math.Min(grid, h);
        var med = new float[gx * gy];
        var block = new float[(w / gx + 1) * (h / gy + 1)];
        for (int by = 0; by < gy; by++)
            for (int bx = 0; bx < gx; bx++)
            {
                int x0 = bx * w / gx, x1 = (bx + 1) * w / gx, y0 = by * h / gy, y1 = (by + 1) * h / gy, n = 0;
                for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) block[n++] = ink[y * w + x];
                med[by * gx + bx] = n == 0 ? 0 : Median(block, 0, n);
            }
        // A block full of a thick stroke has an ink-coloured median: take the minimum of neighbours.
        var bg = new float[med.Length];
        for (int by = 0; by < gy; by++)
            for (int bx = 0; bx < gx; bx++)
            {
                float m = float.MaxValue;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int yy = by + dy, xx = bx + dx;
                        if (yy >= 0 && yy < gy && xx >= 0 && xx < gx) m = Math.Min(m, med[yy * gx + xx]);
                    }
                bg[by * gx + bx] = m;
            }
        for (int y = 0; y < h; y++)
        {
            float fy = Math.Clamp((y + 0.5f) * gy / h - 0.5f, 0, gy - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, gy - 1);
            float ty = fy - y0;
            for (int x = 0; x < w; x++)
            {
                float fx = Math.Clamp((x + 0.5f) * gx / w - 0.5f, 0, gx - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, gx - 1);
                float tx = fx - x0;
                float b = (1 - ty) * ((1 - tx) * bg[y0 * gx + x0] + tx * bg[y0 * gx + x1]) + ty * ((1 - tx) * bg[y1 * gx + x0] + tx * bg[y1 * gx + x1]);
                ink[y * w + x] = Math.Max(0, ink[y * w + x] - b);
            }
        }
    }

    /// <summary>Otsu's threshold over a 256-bin histogram of values in [0, 1].</summary>
    static float Otsu(float[] v)
    {
        var hist = new double[256];
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

    /// <summary>
    /// Keeps the largest ink component and the sizeable components near it (the parts of a digit such
    /// as the bar of a 5), dropping specks, and components touching the border when others remain
    /// (page edges, shadows).
    /// </summary>
    static void KeepDigitComponents(bool[] mask, int w, int h)
    {
        var label = new int[mask.Length];
        var comps = new List<(int Area, int X0, int Y0, int X1, int Y1, bool Border)>();
        var stack = new Stack<int>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || label[start] != 0) continue;
            int id = comps.Count + 1, area = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
            label[start] = id;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop(), px = p % w, py = p / w;
                area++;
                x0 = Math.Min(x0, px); x1 = Math.Max(x1, px); y0 = Math.Min(y0, py); y1 = Math.Max(y1, py);
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int qx = px + dx, qy = py + dy;
                        if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
                        int q = qy * w + qx;
                        if (mask[q] && label[q] == 0) { label[q] = id; stack.Push(q); }
                    }
            }
            comps.Add((area, x0, y0, x1, y1, x0 == 0 || y0 == 0 || x1 == w - 1 || y1 == h - 1));
        }
        if (comps.Count == 0) return;
        bool anyInside = comps.Any(c => !c.Border && c.Area >= 0.0005 * w * h);
        int main = -1;
        for (int i = 0; i < comps.Count; i++)
            if ((!anyInside || !comps[i].Border) && (main < 0 || comps[i].Area > comps[main].Area)) main = i;
        var m = comps[main];
        int mw = m.X1 - m.X0 + 1, mh = m.Y1 - m.Y0 + 1, reach = Math.Max(mw, mh) / 2;
        var keep = new bool[comps.Count + 1];
        for (int i = 0; i < comps.Count; i++)
        {
            var c = comps[i];
            bool near = c.X1 >= m.X0 - reach && c.X0 <= m.X1 + reach && c.Y1 >= m.Y0 - reach && c.Y0 <= m.Y1 + reach;
            keep[i + 1] = i == main || (near && c.Area >= 0.08 * m.Area && !(anyInside && c.Border));
        }
        for (int i = 0; i < mask.Length; i++) mask[i] = mask[i] && keep[label[i]];
    }

    static (int X0, int Y0, int X1, int Y1)? BoundingBox(bool[] mask, int w, int h)
    {
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (mask[y * w + x]) { x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
        return x1 < 0 ? null : (x0, y0, x1, y1);
    }

    // ---- fitting into MNIST's frame ----------------------------------------------------------

    /// <summary>Crops the mask to its box, thickens thin strokes, fits 20x20 with area averaging, centres by mass in 28x28.</summary>
    static byte[] FitAndCentre(bool[] mask, int w, (int X0, int Y0, int X1, int Y1) box)
    {
        int bw = box.X1 - box.X0 + 1, bh = box.Y1 - box.Y0 + 1;
        float scale = 20f / Math.Max(bw, bh);
        // MNIST strokes are about 2–3 px wide at 20x20. Estimate the width here as 2·area / perimeter.
        int area = 0, perimeter = 0;
        for (int y = box.Y0; y <= box.Y1; y++)
            for (int x = box.X0; x <= box.X1; x++)
            {
                if (!mask[y * w + x]) continue;
                area++;
                if (x == box.X0 || x == box.X1 || y == box.Y0 || y == box.Y1 ||
                    !mask[y * w + x - 1] || !mask[y * w + x + 1] || !mask[(y - 1) * w + x] || !mask[(y + 1) * w + x]) perimeter++;
            }
        float width = 2f * area / Math.Max(1, perimeter);
        float wanted = 2.2f / scale;
        int grow = (int)MathF.Round(Math.Max(0, (wanted - width) / 2));
        int pad = grow;
        int cw = bw + 2 * pad, ch = bh + 2 * pad;
        var crop = new float[cw * ch];
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++)
                crop[(y + pad) * cw + x + pad] = mask[(box.Y0 + y) * w + box.X0 + x] ? 1f : 0f;
        if (grow > 0) Dilate(crop, cw, ch, grow);

        float s = 20f / Math.Max(cw, ch);
        int tw = Math.Clamp((int)MathF.Round(cw * s), 1, 20), th = Math.Clamp((int)MathF.Round(ch * s), 1, 20);
        var small = AreaResize(crop, cw, ch, tw, th);

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

    /// <summary>Square max filter of the given radius (separable).</summary>
    static void Dilate(float[] img, int w, int h, int r)
    {
        var tmp = new float[img.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float m = 0;
                for (int k = Math.Max(0, x - r); k <= Math.Min(w - 1, x + r); k++) m = Math.Max(m, img[y * w + k]);
                tmp[y * w + x] = m;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float m = 0;
                for (int k = Math.Max(0, y - r); k <= Math.Min(h - 1, y + r); k++) m = Math.Max(m, tmp[k * w + x]);
                img[y * w + x] = m;
            }
    }

    /// <summary>Exact area-averaging resize (each target pixel is the mean of the source area it covers).</summary>
    public static float[] AreaResize(float[] src, int w, int h, int nw, int nh)
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
