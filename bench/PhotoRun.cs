// `--photos [--count N] [--model NAME|FILE] [--only a,b] [--save DIR] [--mistakes]`: reads N test images
// of every condition (tests/LeNet.PhotoLab) with the reader `lenet predict` uses and prints, per
// condition, how many were read right and how many answers of each kind were marked uncertain.
using System.Diagnostics;
using LeNet.Data;
using LeNet.Models;
using LeNet.PhotoLab;
using LeNet.Reading;

namespace LeNet.Bench;

public static class PhotoRun
{
    public static int Run(string dataDir, int count, string model, string? only, string? save, bool showMistakes)
    {
        var test = MnistDataset.Load(dataDir, train: false);
        var fonts = Conditions.HandwritingFonts();
        var conditions = new Conditions(test, fonts);
        var reader = new DigitReader(PretrainedModels.Resolve(model));
        var chosen = only is null ? Conditions.All : only.Split(',').Select(n => Conditions.All.First(c => Conditions.Name(c) == n.Trim())).ToArray();
        Console.WriteLine($"Reading {count} images per condition with {model} (handwriting fonts found: {fonts.Count}; calibration: T = {reader.Network.Calibration.Temperature:F2}, unsure below {reader.Network.Calibration.UnsureBelow:P0}).");
        Console.WriteLine();
        Console.WriteLine("| condition | read right | wrong answers marked unsure | right answers marked unsure | ms per image |");
        Console.WriteLine("|---|---|---|---|---|");
        int wrongAll = 0, wrongUnsureAll = 0, rightAll = 0, rightUnsureAll = 0;
        foreach (var c in chosen)
        {
            var r = PhotoBench.Measure(conditions, c, count, reader, save is null ? null : Path.Combine(save, Conditions.Name(c)));
            Console.WriteLine($"| {Conditions.Describe(c)} | {r.Accuracy:P1} ({r.Right}/{r.Count}) | {r.WrongUnsure}/{r.Wrong} | {r.RightUnsure}/{r.Right} | {r.Seconds * 1000 / r.Count:F0} |");
            if (showMistakes) foreach (var m in r.Mistakes) Console.WriteLine($"    {m}");
            if (Conditions.Hard.Contains(c) || c == Condition.Number) { wrongAll += r.Wrong; wrongUnsureAll += r.WrongUnsure; }
            rightAll += r.Right; rightUnsureAll += r.RightUnsure;
        }
        Console.WriteLine();
        Console.WriteLine($"Wrong answers on the hard conditions marked unsure: {wrongUnsureAll}/{wrongAll}; right answers marked unsure overall: {rightUnsureAll}/{rightAll} ({(double)rightUnsureAll / Math.Max(1, rightAll):P1}).");
        if (only is null)
        {
            MnistAsPng(reader, test);
            TwelveMegapixels(reader, test);
        }
        return 0;
    }

    /// <summary>MNIST's test set read from PNG files gives the same accuracy as the raw digits.</summary>
    static void MnistAsPng(DigitReader reader, MnistDataset test)
    {
        var p = new float[test.Count * 10];
        reader.Network.Predict(test.Images, test.Count, p);
        int raw = 0, png = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var one = p.AsSpan(i * 10, 10);
            int best = 0;
            for (int k = 1; k < 10; k++) if (one[k] > one[best]) best = k;
            if (best == test.Labels[i]) raw++;
            if (reader.Read(DigitImages.ToPng(test.Image(i)), $"{i}.png").Number == test.Labels[i].ToString()) png++;
        }
        Console.WriteLine($"MNIST test set: {raw / (double)test.Count:P2} from the raw digits, {png / (double)test.Count:P2} from PNG files.");
    }

    /// <summary>The time to read a 12-megapixel JPEG photo in-process, median of 7 after a warm-up.</summary>
    static void TwelveMegapixels(DigitReader reader, MnistDataset test)
    {
        var rng = new Rng(12);
        var paper = new Paper(4000, 3000, new Colour(0.93f, 0.92f, 0.88f), rng);
        paper.Ink(Glyph.FromMnist(test.Image(0), 900), 2000, 1500, 3, new Colour(0.1f, 0.12f, 0.35f));
        var jpeg = paper.Jpeg(rng, 3, 90);
        var times = new List<double>();
        for (int i = 0; i < 8; i++)
        {
            var watch = Stopwatch.StartNew();
            var reading = reader.Read(jpeg, "12mp.jpg");
            if (i > 0) times.Add(watch.Elapsed.TotalMilliseconds);
            if (i == 0 && reading.Number != test.Labels[0].ToString()) Console.WriteLine($"  (the 12 MP photo read as {reading.Number}, not {test.Labels[0]})");
        }
        times.Sort();
        Console.WriteLine($"A 12-megapixel JPEG (4000x3000, {jpeg.Length / 1024} KB) is read in {times[times.Count / 2]:F0} ms (median of 7).");
    }
}
