using System.Buffers.Binary;
using LeNet.Data;
using SkiaSharp;
using Xunit;

namespace LeNet.Tests.Data;

public class PreprocessorTests
{
    static byte[] Png(int w, int h, SKColor background, Action<SKCanvas> draw, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(w, h);
        using (var canvas = new SKCanvas(bitmap)) { canvas.Clear(background); draw(canvas); }
        using var data = SKImage.FromBitmap(bitmap).Encode(format, 95);
        return data.ToArray();
    }

    static (double X, double Y, int X0, int Y0, int X1, int Y1) Geometry(byte[] p)
    {
        double m = 0, mx = 0, my = 0;
        int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                int v = p[y * 28 + x];
                if (v == 0) continue;
                m += v; mx += v * x; my += v * y;
                x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
            }
        return (mx / m, my / m, x0, y0, x1, y1);
    }

    [Fact]
    public void Dark_ink_on_light_paper_is_inverted_cropped_fitted_and_centred_by_mass()
    {
        // A tall bar, far off-centre in a large light image.
        var png = Png(900, 600, new SKColor(240, 235, 225), c => c.DrawRect(700, 50, 40, 200, new SKPaint { Color = new SKColor(30, 30, 40) }));
        var d = DigitPreprocessor.FromBytes(png, "bar.png");
        Assert.True(d.Inverted);
        var g = Geometry(d.Pixels28);
        Assert.InRange(g.Y1 - g.Y0 + 1, 19, 21);         // the longer side is fitted to 20
        Assert.InRange(g.X1 - g.X0 + 1, 3, 8);           // aspect ratio kept (40:200)
        Assert.InRange(g.X, 12.5, 14.5);                  // centre of mass at the middle of 28x28
        Assert.InRange(g.Y, 12.5, 14.5);
        Assert.Equal(0, d.Pixels28[0]);                   // background is black, as in MNIST
    }

    [Fact]
    public void Light_ink_on_dark_background_is_not_inverted()
    {
        var png = Png(200, 200, SKColors.Black, c => c.DrawCircle(80, 90, 40, new SKPaint { Color = SKColors.White, Style = SKPaintStyle.Stroke, StrokeWidth = 10 }));
        var d = DigitPreprocessor.FromBytes(png, "ring.png");
        Assert.False(d.Inverted);
        Assert.Equal(0, d.Pixels28[14 * 28 + 14]);        // the hole of the ring stays empty
        Assert.True(d.Pixels28.Count(v => v > 128) > 40);
    }

    [Fact]
    public void Mnist_format_images_pass_through_unchanged()
    {
        var test = MnistDataset.Load(TestPaths.SmallMnist, train: false);
        var png = DigitImages.ToPng(test.Image(0));
        Assert.Equal(test.Image(0).ToArray(), DigitPreprocessor.FromBytes(png, "mnist.png").Pixels28);
    }

    [Fact]
    public void Specks_and_page_edges_are_ignored()
    {
        var png = Png(800, 800, new SKColor(235, 235, 235), c =>
        {
            var ink = new SKPaint { Color = new SKColor(20, 20, 20) };
            c.DrawRect(0, 0, 800, 30, ink);                 // the dark table above the page
            c.DrawCircle(100, 700, 3, ink);                 // a speck
            c.DrawRect(380, 300, 30, 260, ink);             // the digit: a stroke
        });
        var g = Geometry(DigitPreprocessor.FromBytes(png, "page.png").Pixels28);
        Assert.InRange(g.Y1 - g.Y0 + 1, 19, 21);
        Assert.InRange(g.X1 - g.X0 + 1, 2, 6);
    }

    [Fact]
    public void Transparent_canvas_drawing_is_read()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(280, 280, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Transparent);
            canvas.DrawLine(140, 40, 140, 240, new SKPaint { Color = SKColors.Black, StrokeWidth = 18 });
        }
        var png = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100).ToArray();
        var g = Geometry(DigitPreprocessor.FromBytes(png, "canvas.png").Pixels28);
        Assert.InRange(g.Y1 - g.Y0 + 1, 19, 21);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void Other_formats_are_read(SKEncodedImageFormat format)
    {
        var bytes = Png(300, 300, SKColors.White, c => c.DrawRect(140, 50, 20, 200, new SKPaint { Color = SKColors.Black }), format);
        Assert.True(DigitPreprocessor.FromBytes(bytes, "x").Pixels28.Count(v => v > 0) > 20);
    }

    [Fact]
    public void Blank_image_is_rejected() =>
        Assert.Contains("no digit", Assert.Throws<NoDigitException>(() =>
            DigitPreprocessor.FromBytes(Png(100, 100, SKColors.White, _ => { }), "blank.png")).Message);

    [Fact]
    public void Text_file_is_rejected_by_name() =>
        Assert.Contains("notes.png is not an image", Assert.Throws<InvalidImageException>(() =>
            DigitPreprocessor.FromBytes("just some text, not pixels"u8.ToArray(), "notes.png")).Message);

    [Fact]
    public void Truncated_image_is_rejected()
    {
        var png = Png(300, 300, SKColors.White, c => c.DrawRect(140, 50, 20, 200, new SKPaint { Color = SKColors.Black }));
        Assert.Throws<InvalidImageException>(() => DigitPreprocessor.FromBytes(png[..40], "cut.png"));
    }

    [Fact]
    public void Image_over_50_megapixels_is_rejected_before_decoding()
    {
        // A PNG claiming 10,000 x 6,000 pixels with only a sliver of pixel data: only the header is read.
        var e = Assert.Throws<ImageTooLargeException>(() => DigitPreprocessor.FromBytes(PngHeader(10_000, 6_000), "huge.png"));
        Assert.Contains("too large", e.Message);
        Assert.Contains("60.0 megapixels", e.Message);
    }

    [Fact]
    public void A_tiny_file_declaring_a_huge_png_is_refused_without_decoding_it()
    {
        // 50,000 x 1,000: under the 50-megapixel limit, but a PNG cannot be decoded at a reduced size,
        // so its pixels would take 200 MB.
        var e = Assert.Throws<ImageTooLargeException>(() => DigitPreprocessor.FromBytes(PngHeader(50_000, 1_000), "bomb.png"));
        Assert.Contains("cannot be decoded at a reduced size", e.Message);
    }

    [Fact]
    public void An_image_whose_rows_end_early_is_refused_as_truncated()
    {
        var png = Png(300, 300, SKColors.White, c => c.DrawRect(140, 50, 20, 200, new SKPaint { Color = SKColors.Black }));
        var e = Assert.Throws<InvalidImageException>(() => DigitPreprocessor.FromBytes(png[..(png.Length * 2 / 3)], "cut.png"));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_large_png_is_read_through_a_small_copy()
    {
        // 3,000 x 3,000: decoded whole, then box-filtered to the working size at once.
        var png = Png(3000, 3000, SKColors.White, c => c.DrawRect(1400, 600, 200, 1800, new SKPaint { Color = SKColors.Black }));
        var digit = DigitPreprocessor.FromBytes(png, "big.png");
        Assert.True(digit.Inverted);
        Assert.Equal(3000, digit.SourceWidth);
        Assert.True(digit.Pixels28.Count(p => p > 128) > 20);
    }

    static byte[] PngHeader(int w, int h)
    {
        var ihdr = new byte[17];
        "IHDR"u8.CopyTo(ihdr);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(8), h);
        ihdr[12] = 8; ihdr[13] = 0; // 8-bit greyscale
        var chunk = new byte[4 + 17 + 4];
        BinaryPrimitives.WriteInt32BigEndian(chunk, 13);
        ihdr.CopyTo(chunk, 4);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(21), Crc32(ihdr));
        using var z = new MemoryStream();
        using (var zs = new System.IO.Compression.ZLibStream(z, System.IO.Compression.CompressionLevel.Fastest)) zs.Write(new byte[1000]);
        return [137, 80, 78, 71, 13, 10, 26, 10, .. chunk, .. Chunk("IDAT"u8, z.ToArray()), .. Chunk("IEND"u8, [])];
    }

    static byte[] Chunk(ReadOnlySpan<byte> type, byte[] payload)
    {
        byte[] typed = [.. type, .. payload];
        var c = new byte[8 + payload.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(c, payload.Length);
        typed.CopyTo(c, 4);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(8 + payload.Length), Crc32(typed));
        return c;
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
