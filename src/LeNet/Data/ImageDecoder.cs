// Stage 1 of the photo pipeline: an image file becomes a grey image. Decodes PNG, JPEG, BMP, GIF and
// WebP (SkiaSharp), applies the EXIF orientation, composites transparency over the tone that contrasts
// with the drawing, and reduces the image to at most WorkingSide pixels per side (the ink is found at
// that size; digit boxes are reported in the original image's pixels). Memory is bounded by what the
// pipeline needs, not by the size a file's header declares.
using SkiaSharp;

namespace LeNet.Data;

/// <summary>A decoded image: its grey working copy and the size of the original (after EXIF rotation).</summary>
public sealed record DecodedImage(GrayImage Gray, int SourceWidth, int SourceHeight);

public static class ImageDecoder
{
    public const long MaxMegapixels = 50;
    public const int WorkingSide = 512;  // longest side the search for ink works at

    /// <summary>Decodes an image file (PNG, JPEG, BMP, GIF, WebP, ...).</summary>
    public static DecodedImage FromFile(string path, long maxPixels = MaxMegapixels * 1_000_000)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
        using var stream = File.OpenRead(path);
        return FromStream(stream, Path.GetFileName(path), maxPixels);
    }

    public static DecodedImage FromBytes(byte[] data, string name, long maxPixels = MaxMegapixels * 1_000_000, int maxSide = int.MaxValue)
    {
        using var ms = new MemoryStream(data, writable: false);
        return FromStream(ms, name, maxPixels, maxSide);
    }

    /// <summary>Decodes; images over <paramref name="maxPixels"/> or with a side over <paramref name="maxSide"/> are refused before decoding.</summary>
    public static DecodedImage FromStream(Stream stream, string name, long maxPixels = MaxMegapixels * 1_000_000, int maxSide = int.MaxValue)
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
        bool swapped = oriented.Width != bitmap.Width;
        return new DecodedImage(new GrayImage(w, h, gray), swapped ? info.Height : info.Width, swapped ? info.Width : info.Height);
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
        return (Resize.Area(luma, w, h, nw, nh), nw, nh);
    }

}
