// Makes test "phone photos" of digits written on paper: dark pen ink on off-white paper with uneven
// lighting, sensor noise, a small rotation, the digit off-centre in a large frame, JPEG-compressed.
// Two sources of digit shapes: MNIST test digits (upscaled and thresholded into a pen stroke), and
// digits drawn from pen-path templates with random jitter and slant, which are not MNIST at all.
using LeNet.Training;
using SkiaSharp;

namespace LeNet.Tests.Data;

public static class PhotoSynthesizer
{
    /// <summary>A photo of the given MNIST digit written in pen.</summary>
    public static byte[] FromMnist(ReadOnlySpan<byte> digit28, Rng rng)
    {
        int size = 220 + rng.NextInt(260);
        using var small = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        digit28.CopyTo(small.GetPixelSpan());
        using var big = small.Resize(new SKImageInfo(size, size, SKColorType.Gray8, SKAlphaType.Opaque), new SKSamplingOptions(SKCubicResampler.Mitchell));
        var ink = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var src = big.GetPixelSpan();
        var dst = ink.GetPixelSpan();
        var (r, g, b) = InkColour(rng);
        for (int i = 0; i < size * size; i++)
        {
            float v = src[i] / 255f, a = Math.Clamp((v - 0.3f) / 0.15f, 0, 1);
            dst[4 * i] = r; dst[4 * i + 1] = g; dst[4 * i + 2] = b; dst[4 * i + 3] = (byte)(a * 255);
        }
        return Photograph(ink, rng);
    }

    /// <summary>A photo of a digit drawn with a pen path from a template.</summary>
    public static byte[] FromStrokes(int digit, Rng rng)
    {
        const int w = 100, h = 140;
        int scale = 2 + rng.NextInt(3);
        var ink = new SKBitmap(new SKImageInfo((w + 40) * scale, (h + 40) * scale, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(ink))
        {
            canvas.Clear(SKColors.Transparent);
            var (r, g, b) = InkColour(rng);
            using var pen = new SKPaint
            {
                Color = new SKColor(r, g, b), IsAntialias = true, Style = SKPaintStyle.Stroke,
                StrokeWidth = rng.Uniform(7, 13), StrokeCap = SKStrokeCap.Round, StrokeJoin = SKStrokeJoin.Round,
            };
            canvas.Scale(scale);
            canvas.Translate(20, 20);
            float slant = rng.Uniform(-0.25f, 0.1f);
            canvas.Concat(new SKMatrix(1, slant, -slant * h / 2, 0, 1, 0, 0, 0, 1));
            using var path = Template(digit, () => rng.Uniform(-4, 4));
            canvas.DrawPath(path, pen);
        }
        return Photograph(ink, rng);
    }

    static (byte R, byte G, byte B) InkColour(Rng rng) => rng.NextInt(2) == 0
        ? ((byte)(20 + rng.NextInt(30)), (byte)(25 + rng.NextInt(30)), (byte)(60 + rng.NextInt(60)))   // blue-black ballpoint
        : ((byte)(15 + rng.NextInt(30)), (byte)(15 + rng.NextInt(30)), (byte)(15 + rng.NextInt(30)));  // black marker

    static SKPath Template(int digit, Func<float> j)
    {
        var p = new SKPath();
        void Oval(float cx, float cy, float rx, float ry) => p.AddOval(new SKRect(cx - rx + j(), cy - ry + j(), cx + rx + j(), cy + ry + j()));
        switch (digit)
        {
            case 0: Oval(50, 70, 34, 60); break;
            case 1: p.MoveTo(35 + j(), 32 + j()); p.LineTo(56 + j(), 10); p.LineTo(54 + j(), 132); break;
            case 2:
                p.MoveTo(15 + j(), 42 + j()); p.CubicTo(15, 0 + j(), 85 + j(), 0, 84 + j(), 42);
                p.CubicTo(84, 72 + j(), 40 + j(), 92, 14 + j(), 130); p.LineTo(90 + j(), 128 + j()); break;
            case 3:
                p.MoveTo(16 + j(), 25 + j()); p.CubicTo(40, 0 + j(), 92 + j(), 10, 80 + j(), 45);
                p.CubicTo(74, 64 + j(), 52, 68, 40 + j(), 68);
                p.MoveTo(40, 68); p.CubicTo(96 + j(), 66, 96, 132 + j(), 50 + j(), 131);
                p.CubicTo(34, 131, 22, 125, 12 + j(), 114 + j()); break;
            case 4:
                p.MoveTo(62 + j(), 10 + j()); p.LineTo(10 + j(), 92 + j()); p.LineTo(92 + j(), 92 + j());
                p.MoveTo(70 + j(), 48 + j()); p.LineTo(70 + j(), 134 + j()); break;
            case 5:
                p.MoveTo(86 + j(), 12 + j()); p.LineTo(26 + j(), 12 + j()); p.LineTo(20 + j(), 64 + j());
                p.CubicTo(45, 50 + j(), 90 + j(), 54, 88 + j(), 95); p.CubicTo(86, 136 + j(), 34 + j(), 140, 12 + j(), 118 + j()); break;
            case 6:
                p.MoveTo(76 + j(), 10 + j()); p.CubicTo(40 + j(), 30, 16, 70 + j(), 18 + j(), 100);
                p.CubicTo(20, 136 + j(), 80 + j(), 140, 82 + j(), 100); p.CubicTo(84, 68 + j(), 40, 64, 20 + j(), 94 + j()); break;
            case 7: p.MoveTo(12 + j(), 14 + j()); p.LineTo(88 + j(), 14 + j()); p.LineTo(42 + j(), 134 + j()); break;
            case 8: Oval(50, 38, 27, 27); Oval(50, 99, 33, 33); break;
            case 9:
                p.MoveTo(78 + j(), 45 + j()); p.CubicTo(78, 5 + j(), 18 + j(), 5, 18 + j(), 45);
                p.CubicTo(18, 82 + j(), 78 + j(), 82, 78, 45); p.LineTo(74 + j(), 134 + j()); break;
            default: throw new ArgumentOutOfRangeException(nameof(digit));
        }
        return p;
    }

    /// <summary>Places the ink on shaded, noisy paper off-centre in a large frame, rotates it a little, encodes JPEG.</summary>
    static byte[] Photograph(SKBitmap ink, Rng rng)
    {
        int width = 1200 + rng.NextInt(800), height = 900 + rng.NextInt(600);
        using var paper = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var px = paper.GetPixelSpan();
        float pr = 225 + rng.NextInt(25), pg = 220 + rng.NextInt(25), pb = 200 + rng.NextInt(35);
        float gx = rng.Uniform(-0.4f, 0.4f), gy = rng.Uniform(-0.4f, 0.4f); // lighting falls off across the page
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                float light = 0.9f + gx * ((float)x / width - 0.5f) + gy * ((float)y / height - 0.5f);
                float n = rng.Uniform(-7, 7);
                int i = 4 * (y * width + x);
                px[i] = (byte)Math.Clamp(pr * light + n, 0, 255);
                px[i + 1] = (byte)Math.Clamp(pg * light + n, 0, 255);
                px[i + 2] = (byte)Math.Clamp(pb * light + n, 0, 255);
                px[i + 3] = 255;
            }
        using (var canvas = new SKCanvas(paper))
        {
            float cx = width * rng.Uniform(0.25f, 0.75f), cy = height * rng.Uniform(0.3f, 0.7f);
            canvas.Translate(cx, cy);
            canvas.RotateDegrees(rng.Uniform(-8, 8));
            using var image = SKImage.FromBitmap(ink);
            canvas.DrawImage(image, -ink.Width / 2f, -ink.Height / 2f, new SKSamplingOptions(SKFilterMode.Linear));
        }
        ink.Dispose();
        using var encoded = SKImage.FromBitmap(paper).Encode(SKEncodedImageFormat.Jpeg, 80);
        return encoded.ToArray();
    }
}
