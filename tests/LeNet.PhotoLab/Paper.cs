// A sheet of paper being photographed: colour planes in [0, 1] that ink, lines and light act on, in
// the order they do in the world (ink on paper, then light falling on both, then the camera's noise
// and compression).
using SkiaSharp;

namespace LeNet.PhotoLab;

public readonly record struct Colour(float R, float G, float B)
{
    public static Colour Grey(float v) => new(v, v, v);
}

public sealed class Paper
{
    public int Width { get; }
    public int Height { get; }
    readonly float[] _r, _g, _b;

    public Paper(int width, int height, Colour tone, Rng rng, float grain = 0.01f)
    {
        Width = width; Height = height;
        _r = new float[width * height]; _g = new float[width * height]; _b = new float[width * height];
        for (int i = 0; i < _r.Length; i++)
        {
            float n = grain * rng.Gaussian();
            _r[i] = tone.R + n; _g[i] = tone.G + n; _b[i] = tone.B + n;
        }
    }

    /// <summary>Puts a glyph's centre at (cx, cy), rotated by <paramref name="degrees"/>, as ink of the given colour.</summary>
    public (float X0, float Y0, float X1, float Y1) Ink(Glyph g, float cx, float cy, float degrees, Colour ink, float density = 1)
    {
        float a = degrees * MathF.PI / 180, cos = MathF.Cos(a), sin = MathF.Sin(a);
        float hw = g.Width / 2f, hh = g.Height / 2f;
        float ex = MathF.Abs(cos) * hw + MathF.Abs(sin) * hh, ey = MathF.Abs(sin) * hw + MathF.Abs(cos) * hh;
        int x0 = Math.Max(0, (int)(cx - ex) - 1), x1 = Math.Min(Width - 1, (int)(cx + ex) + 1);
        int y0 = Math.Max(0, (int)(cy - ey) - 1), y1 = Math.Min(Height - 1, (int)(cy + ey) + 1);
        float ix0 = float.MaxValue, iy0 = float.MaxValue, ix1 = float.MinValue, iy1 = float.MinValue;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                float dx = x - cx, dy = y - cy;
                float c = g.Sample(cos * dx + sin * dy + hw, -sin * dx + cos * dy + hh) * density;
                if (c <= 0) continue;
                Blend(y * Width + x, ink, c);
                if (c > 0.5f) { ix0 = Math.Min(ix0, x); iy0 = Math.Min(iy0, y); ix1 = Math.Max(ix1, x); iy1 = Math.Max(iy1, y); }
            }
        return (ix0, iy0, ix1, iy1);
    }

    /// <summary>A straight line from (x0, y0) to (x1, y1), <paramref name="width"/> pixels wide, anti-aliased.</summary>
    public void Line(float x0, float y0, float x1, float y1, float width, Colour colour, float opacity = 1)
    {
        float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
        int bx0 = Math.Max(0, (int)(Math.Min(x0, x1) - width) - 1), bx1 = Math.Min(Width - 1, (int)(Math.Max(x0, x1) + width) + 1);
        int by0 = Math.Max(0, (int)(Math.Min(y0, y1) - width) - 1), by1 = Math.Min(Height - 1, (int)(Math.Max(y0, y1) + width) + 1);
        for (int y = by0; y <= by1; y++)
            for (int x = bx0; x <= bx1; x++)
            {
                float t = len2 > 0 ? Math.Clamp(((x - x0) * dx + (y - y0) * dy) / len2, 0, 1) : 0;
                float px = x0 + t * dx - x, py = y0 + t * dy - y;
                float c = Math.Clamp(width / 2 + 0.5f - MathF.Sqrt(px * px + py * py), 0, 1) * opacity;
                if (c > 0) Blend(y * Width + x, colour, c);
            }
    }

    void Blend(int i, Colour c, float a)
    {
        // Ink absorbs: the result is the darker mix (multiply), as ink over ink and ink over lines look.
        _r[i] *= 1 - a + a * c.R; _g[i] *= 1 - a + a * c.G; _b[i] *= 1 - a + a * c.B;
    }

    /// <summary>Multiplies everything by the light falling on the paper, a field over pixel positions.</summary>
    public void Light(Func<float, float, float> light)
    {
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                float l = light(x, y);
                int i = y * Width + x;
                _r[i] *= l; _g[i] *= l; _b[i] *= l;
            }
    }

    /// <summary>The camera: sensor noise of the given standard deviation (in 0–255 units), then JPEG.</summary>
    public byte[] Jpeg(Rng rng, float noise, int quality) => Encode(rng, noise, SKEncodedImageFormat.Jpeg, quality);

    public byte[] Png(Rng rng, float noise) => Encode(rng, noise, SKEncodedImageFormat.Png, 100);

    byte[] Encode(Rng rng, float noise, SKEncodedImageFormat format, int quality)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var px = bitmap.GetPixelSpan();
        for (int i = 0; i < _r.Length; i++)
        {
            float n = noise > 0 ? noise * rng.Gaussian() : 0;
            px[4 * i] = (byte)Math.Clamp(_r[i] * 255 + n + 0.5f, 0, 255);
            px[4 * i + 1] = (byte)Math.Clamp(_g[i] * 255 + n + 0.5f, 0, 255);
            px[4 * i + 2] = (byte)Math.Clamp(_b[i] * 255 + n + 0.5f, 0, 255);
            px[4 * i + 3] = 255;
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }
}
