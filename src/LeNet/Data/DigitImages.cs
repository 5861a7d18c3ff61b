// Reading and writing 28x28 digit images as PNG files (SkiaSharp).
using SkiaSharp;

namespace LeNet.Data;

public static class DigitImages
{
    /// <summary>PNG bytes of a 28x28 digit (white ink on black, as MNIST stores it).</summary>
    public static byte[] ToPng(ReadOnlySpan<byte> pixels28, int scale = 1)
    {
        var info = new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        pixels28[..784].CopyTo(bitmap.GetPixelSpan());
        using var scaled = scale == 1 ? null : bitmap.Resize(new SKImageInfo(28 * scale, 28 * scale, SKColorType.Gray8, SKAlphaType.Opaque), new SKSamplingOptions(SKFilterMode.Nearest));
        using var image = SKImage.FromBitmap(scaled ?? bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>PNG bytes of a grey image (0 = black), row by row.</summary>
    public static byte[] GrayPng(byte[] gray, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        gray.AsSpan(0, width * height).CopyTo(bitmap.GetPixelSpan());
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>Writes every misclassified image as dir/&lt;true&gt;/&lt;pred&gt;_&lt;index&gt;.png; returns how many.</summary>
    public static int SaveMisclassified(MnistDataset data, ReadOnlySpan<byte> predictions, string directory)
    {
        int saved = 0;
        try
        {
            for (int i = 0; i < data.Count; i++)
            {
                if (predictions[i] == data.Labels[i]) continue;
                string dir = Path.Combine(directory, data.Labels[i].ToString());
                Directory.CreateDirectory(dir);
                File.WriteAllBytes(Path.Combine(dir, $"{predictions[i]}_{i}.png"), ToPng(data.Image(i)));
                saved++;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LeNetException($"Cannot write misclassified images to {directory}: {e.Message}", e);
        }
        return saved;
    }
}
