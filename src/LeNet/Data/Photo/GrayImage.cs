// A grey image as rows of floats, the form every stage of the photo pipeline reads and writes.
namespace LeNet.Data;

public sealed class GrayImage(int width, int height, float[]? pixels = null)
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public float[] Pixels { get; } = pixels ?? new float[width * height];

    public float this[int x, int y]
    {
        get => Pixels[y * Width + x];
        set => Pixels[y * Width + x] = value;
    }

    public GrayImage Clone() => new(Width, Height, (float[])Pixels.Clone());

    /// <summary>8-bit grey bytes (0 = black), for pictures of a stage.</summary>
    public byte[] ToBytes(bool invert = false)
    {
        var b = new byte[Pixels.Length];
        for (int i = 0; i < b.Length; i++)
        {
            float v = Math.Clamp(Pixels[i], 0, 1);
            b[i] = (byte)MathF.Round((invert ? 1 - v : v) * 255);
        }
        return b;
    }
}

/// <summary>A rectangle in pixels: left, top, width, height.</summary>
public readonly record struct PixelBox(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;
    public int Bottom => Y + Height;
    public float CentreX => X + Width / 2f;

    public static PixelBox FromCorners(int x0, int y0, int x1, int y1) => new(x0, y0, x1 - x0 + 1, y1 - y0 + 1);

    public PixelBox Union(PixelBox o)
    {
        int x0 = Math.Min(X, o.X), y0 = Math.Min(Y, o.Y);
        return new(x0, y0, Math.Max(Right, o.Right) - x0, Math.Max(Bottom, o.Bottom) - y0);
    }

    /// <summary>This box in another image's pixels, the two images showing the same scene at different sizes.</summary>
    public PixelBox Scale(double sx, double sy)
    {
        int x0 = (int)Math.Floor(X * sx), y0 = (int)Math.Floor(Y * sy);
        return new(x0, y0, Math.Max(1, (int)Math.Ceiling(Right * sx) - x0), Math.Max(1, (int)Math.Ceiling(Bottom * sy) - y0));
    }
}
