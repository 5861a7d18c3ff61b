// lenet report: a report from a small trained model, checked picture by picture, and side by side
// with the shipped model; the 1998 model adds its RBF bitmaps.
using System.Text.RegularExpressions;
using LeNet.Data;
using LeNet.Models;
using LeNet.Reports;
using LeNet.Training;
using SkiaSharp;
using Xunit;

namespace LeNet.Tests.Reports;

public sealed class ReportTests
{
    static readonly MnistDataset Train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
    static readonly MnistDataset Test = MnistDataset.Load(TestPaths.SmallMnist, train: false);

    /// <summary>A small lenet5 trained for 2 epochs on 2,000 images, with its metrics log.</summary>
    static (string Model, string Log) TrainSmall(string dir)
    {
        var options = TrainingOptions.For(Architectures.LeNet5) with { Epochs = 2, Limit = 2000, Threads = 2 };
        string model = Path.Combine(dir, "small.lenet"), log = Path.Combine(dir, "small.csv");
        var trainer = new Trainer(options, Train, Test) { ModelPath = model, LogPath = log };
        trainer.Run();
        return (model, log);
    }

    static SKBitmap Decode(string dir, string file)
    {
        var path = Path.Combine(dir, file);
        Assert.True(File.Exists(path), $"{file} is missing");
        return SKBitmap.Decode(path) ?? throw new Xunit.Sdk.XunitException($"{file} does not decode as an image");
    }

    static HashSet<int> Misclassified(Network network)
    {
        var p = new float[Test.Count * Loss.Classes];
        network.Predict(Test.Images, Test.Count, p, threads: 2);
        var wrong = new HashSet<int>();
        for (int i = 0; i < Test.Count; i++)
        {
            var row = p.AsSpan(i * Loss.Classes, Loss.Classes);
            if (row.IndexOf(TensorMax(row)) != Test.Labels[i]) wrong.Add(i);
        }
        return wrong;

        static float TensorMax(ReadOnlySpan<float> s) { float m = s[0]; foreach (var v in s) m = Math.Max(m, v); return m; }
    }

    [Fact]
    public void Report_has_every_picture_and_the_page_matches_the_evaluation()
    {
        string dir = TestPaths.NewTempDirectory();
        var (model, log) = TrainSmall(dir);
        string outDir = Path.Combine(dir, "report");
        var result = Report.Write(new ReportOptions { ModelPath = model, LogPath = log, OutDir = outDir, TestSet = Test });

        string[] expected = ["training-loss.png", "training-accuracy.png", "learning-rate.png", "confusion-matrix.png", "per-class-accuracy.png",
            "misclassified.png", "feature-maps.png", "kernels-conv1.png", "kernels-conv2.png", "kernels-conv3.png"];
        Assert.Equal(expected.Order(), result.Pictures.Order());
        foreach (var file in expected)
        {
            using var bitmap = Decode(outDir, file);
            Assert.True(bitmap.Width >= 300 && bitmap.Height >= 200, $"{file} is {bitmap.Width}x{bitmap.Height}");
        }
        using (var m = Decode(outDir, "confusion-matrix.png")) Assert.Equal((Charts.MatrixSide, Charts.MatrixSide), (m.Width, m.Height));
        using (var m = Decode(outDir, "training-loss.png")) Assert.Equal((Charts.Width, Charts.Height), (m.Width, m.Height));
        // A plot is not blank: it holds many colours.
        using (var m = Decode(outDir, "per-class-accuracy.png")) Assert.True(m.Pixels.Distinct().Count() > 20);

        string html = File.ReadAllText(result.IndexPath);
        foreach (var file in expected) Assert.Contains($"{file}\"", html);
        Assert.DoesNotContain("rbf-bitmaps.png", html);

        // How it was trained, from the model file: 2 epochs on 2,000 images with Adam.
        var settings = Regex.Match(html, "<table class=\"settings\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.Contains("<td>small</td><td>lenet5</td><td>2</td><td>64</td><td>adam</td>", settings);
        Assert.Contains("<td>2,000</td>", settings);
        // The log has at least 10 rows an epoch even when an epoch is 32 steps: the warm-up shows.
        var rows = MetricsLog.Read(log).Rows;
        Assert.True(rows.Count(r => r.Epoch == 1) >= 10, $"{rows.Count(r => r.Epoch == 1)} rows in epoch 1");

        // The confusion table sums to the number of test images, and its diagonal to the right answers.
        var table = Regex.Match(html, "<table class=\"confusion\".*?</table>", RegexOptions.Singleline).Value;
        var cells = Regex.Matches(table, "<td>(\\d+)</td>").Select(x => int.Parse(x.Groups[1].Value)).ToArray();
        Assert.Equal(100, cells.Length);
        Assert.Equal(Test.Count, cells.Sum());
        Assert.Equal(Test.Count - result.Model.Mistakes.Count, Enumerable.Range(0, 10).Sum(d => cells[d * 11]));

        // The gallery holds exactly the misclassified images.
        var wrong = Misclassified(ModelFile.Load(model));
        var shown = Regex.Matches(html, "<figure class=\"mistake\" data-index=\"(\\d+)\" data-true=\"(\\d)\" data-guess=\"(\\d)\"")
            .Select(x => (Index: int.Parse(x.Groups[1].Value), Truth: int.Parse(x.Groups[2].Value), Guess: int.Parse(x.Groups[3].Value))).ToArray();
        Assert.Equal(wrong.Order(), shown.Select(x => x.Index).Order());
        Assert.All(shown, x => { Assert.Equal(Test.Labels[x.Index], x.Truth); Assert.NotEqual(x.Truth, x.Guess); });
        // Grouped by true digit, most confident first.
        Assert.Equal(shown.Select(x => x.Truth).Order(), shown.Select(x => x.Truth));
        foreach (var g in result.Model.Mistakes.GroupBy(x => x.Truth))
            Assert.Equal(g.Select(x => x.Confidence).OrderDescending(), g.Select(x => x.Confidence));
    }

    [Fact]
    public void Compare_shows_both_models_and_the_1998_model_adds_its_bitmaps()
    {
        string dir = TestPaths.NewTempDirectory();
        var classic = Architectures.Build(Architectures.Default(Architectures.LeNet5Classic));
        classic.Initialize(3);
        string classicPath = Path.Combine(dir, "classic.lenet");
        ModelFile.Save(classicPath, classic);
        string image = Path.Combine(dir, "digit.png");
        File.WriteAllBytes(image, DigitImages.ToPng(Test.Image(5), 4));

        var result = Report.Write(new ReportOptions { ModelPath = TestPaths.PretrainedModel, ComparePath = classicPath, ImagePath = image, OutDir = Path.Combine(dir, "r"), TestSet = Test });
        Assert.Contains("accuracy-difference.png", result.Pictures);
        Assert.Contains("compare-confusion-matrix.png", result.Pictures);
        Assert.Contains("compare-kernels-C3.png", result.Pictures);
        Assert.Contains("compare-kernels-C1.png", result.Pictures);
        Assert.Contains("rbf-bitmaps.png", result.Pictures);
        Assert.DoesNotContain("training-loss.png", result.Pictures);
        foreach (var file in result.Pictures) using (Decode(Path.Combine(dir, "r"), file)) { }
        string html = File.ReadAllText(result.IndexPath);
        Assert.Contains("digit.png", html);
        Assert.Equal(2, Regex.Matches(html, "<table class=\"confusion\"").Count);
        Assert.Equal(result.Model.Mistakes.Count + result.Compared!.Mistakes.Count, Regex.Matches(html, "<figure class=\"mistake\"").Count);
    }

    [Fact]
    public void A_file_that_is_not_a_metrics_log_is_refused_by_name()
    {
        string dir = TestPaths.NewTempDirectory();
        string bad = Path.Combine(dir, "notes.csv");
        File.WriteAllText(bad, "a,b,c\n1,2,3\n");
        var e = Assert.Throws<InvalidDataFileException>(() => MetricsLog.Read(bad));
        Assert.Contains("notes.csv", e.Message);
        File.WriteAllText(bad, MetricsLog.Header + "\n1,100,x,0.5,,,0.001,1.0\n");
        e = Assert.Throws<InvalidDataFileException>(() => MetricsLog.Read(bad));
        Assert.Contains("line 2", e.Message);
    }
}
