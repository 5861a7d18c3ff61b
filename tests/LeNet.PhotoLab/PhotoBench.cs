// Reads every test condition's images the way `lenet predict` does and counts: right, wrong, and how
// many of each were marked uncertain. The tests run it on a few images per condition; the bench
// (`--photos`) on 40 or more, and prints the table docs/photos.md shows.
using System.Diagnostics;
using LeNet.Reading;

namespace LeNet.PhotoLab;

public sealed record ConditionResult(Condition Condition, int Count, int Right, int RightUnsure, int Wrong, int WrongUnsure, int Failed, double Seconds, List<string> Mistakes)
{
    public double Accuracy => Count == 0 ? 0 : (double)Right / Count;
}

public static class PhotoBench
{
    public static ConditionResult Measure(Conditions conditions, Condition c, int count, DigitReader reader, string? saveTo = null)
    {
        int right = 0, rightUnsure = 0, wrong = 0, wrongUnsure = 0, failed = 0;
        var mistakes = new List<string>();
        var watch = new Stopwatch();
        foreach (var sample in conditions.Make(c, count))
        {
            if (saveTo is not null)
            {
                Directory.CreateDirectory(saveTo);
                File.WriteAllBytes(Path.Combine(saveTo, sample.Name), sample.Bytes);
            }
            watch.Start();
            Reading.Reading? reading = null;
            try { reading = reader.Read(sample.Bytes, sample.Name); }
            catch (LeNetException) { failed++; }
            watch.Stop();
            if (reading is null) { mistakes.Add($"{sample.Name}: no reading"); wrong++; continue; }
            if (reading.Number == sample.Label) { right++; if (reading.Uncertain) rightUnsure++; }
            else
            {
                wrong++;
                if (reading.Uncertain) wrongUnsure++;
                if (saveTo is not null) StagePictures.Save(reading, Path.Combine(saveTo, sample.Name));
                mistakes.Add($"{sample.Name}: read {reading.Number}{(reading.Uncertain ? $" (unsure: {reading.Reason})" : "")}");
            }
        }
        return new ConditionResult(c, count, right, rightUnsure, wrong, wrongUnsure, failed, watch.Elapsed.TotalSeconds, mistakes);
    }
}

public static class StagePictures
{
    /// <summary>Writes the pipeline's stages for one image as PNGs: grey, background, ink, mask, and each digit's 28x28.</summary>
    public static void Save(Reading.Reading reading, string prefix)
    {
        if (reading.Stages is not { } s) return;
        Png(s.Gray.ToBytes(), s.Gray.Width, s.Gray.Height, prefix + ".1-gray.png");
        Png(s.Ink.Background.ToBytes(), s.Gray.Width, s.Gray.Height, prefix + ".2-background.png");
        Png(s.Ink.Ink.ToBytes(), s.Gray.Width, s.Gray.Height, prefix + ".3-ink.png");
        Png(s.Mask.Select(m => m ? (byte)255 : (byte)0).ToArray(), s.Gray.Width, s.Gray.Height, prefix + ".4-mask.png");
        for (int i = 0; i < reading.Digits.Count; i++) Png(reading.Digits[i].Input28, 28, 28, prefix + $".5-digit{i}.png");
    }

    static void Png(byte[] gray, int w, int h, string path)
    {
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(w, h, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque));
        gray.CopyTo(bitmap.GetPixelSpan());
        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        File.WriteAllBytes(path, image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100).ToArray());
    }
}
