using LeNet.Data;
using LeNet.Models;
using LeNet.Training;
using Xunit;
using Xunit.Abstractions;

namespace LeNet.Tests.Data;

/// <summary>Digits written on paper and photographed (synthesised, see PhotoSynthesizer) are read correctly.</summary>
public class PhotoDigitTests(ITestOutputHelper output)
{
    static readonly Network Model = ModelFile.Load(TestPaths.PretrainedModel);

    [Fact]
    public void Photos_of_mnist_test_digits_written_in_pen_are_read_correctly()
    {
        var test = MnistDataset.Load(TestPaths.SmallMnist, train: false);
        var rng = new Rng(2026);
        int total = 40, correct = 0;
        var wrong = new List<string>();
        for (int i = 0; i < total; i++)
        {
            var jpeg = PhotoSynthesizer.FromMnist(test.Image(i), rng);
            int guess = Guess(jpeg, $"mnist-{i}.jpg");
            if (guess == test.Labels[i]) correct++; else wrong.Add($"#{i}: {test.Labels[i]}→{guess}");
            Save(jpeg, $"mnist-{i}-{test.Labels[i]}.jpg");
        }
        output.WriteLine($"MNIST digits as photos: {correct}/{total} correct. Wrong: {string.Join(", ", wrong)}");
        Assert.True(correct >= total * 0.93, $"{correct}/{total} correct; wrong: {string.Join(", ", wrong)}");
    }

    [Fact]
    public void Photos_of_pen_drawn_digits_are_read_correctly()
    {
        var rng = new Rng(7);
        int total = 40, correct = 0;
        var wrong = new List<string>();
        for (int i = 0; i < total; i++)
        {
            int digit = i % 10;
            var jpeg = PhotoSynthesizer.FromStrokes(digit, rng);
            int guess = Guess(jpeg, $"pen-{i}.jpg");
            if (guess == digit) correct++; else wrong.Add($"#{i}: {digit}→{guess}");
            Save(jpeg, $"pen-{i}-{digit}.jpg");
        }
        output.WriteLine($"Pen-drawn digits as photos: {correct}/{total} correct. Wrong: {string.Join(", ", wrong)}");
        Assert.True(correct >= total * 0.85, $"{correct}/{total} correct; wrong: {string.Join(", ", wrong)}");
    }

    static int Guess(byte[] jpeg, string name)
    {
        var digit = DigitPreprocessor.FromBytes(jpeg, name);
        var p = new float[10];
        Model.Predict(digit.Pixels28, 1, p, threads: 1);
        return Array.IndexOf(p, p.Max());
    }

    /// <summary>With LENET_PHOTO_DIR set, keeps the generated photos to look at.</summary>
    static void Save(byte[] jpeg, string name)
    {
        var dir = Environment.GetEnvironmentVariable("LENET_PHOTO_DIR");
        if (dir is null) return;
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, name), jpeg);
        var d = DigitPreprocessor.FromBytes(jpeg, name);
        File.WriteAllBytes(Path.Combine(dir, Path.ChangeExtension(name, ".28.png")), DigitImages.ToPng(d.Pixels28, 4));
    }
}
