using LeNet.Data;
using LeNet.Models;
using LeNet.PhotoLab;
using LeNet.Reading;
using Xunit;
using Xunit.Abstractions;

namespace LeNet.Tests.Data;

/// <summary>
/// Test photos of every condition (tests/LeNet.PhotoLab, made from MNIST test digits and pen
/// templates) are read right. A dozen images per condition here; `bench --photos` measures 100.
/// </summary>
public class PhotoReadingTests(ITestOutputHelper output)
{
    static readonly DigitReader Reader = new(PretrainedModels.Load("lenet5"));
    static readonly Conditions Photos = new(MnistDataset.Load(TestPaths.SmallMnist, train: false), fonts: []);
    const int Count = 12;

    [Theory]
    [InlineData(Condition.Clean, 11)]
    [InlineData(Condition.ThinPen, 11)]
    [InlineData(Condition.Ruled, 11)]
    [InlineData(Condition.Squared, 11)]
    [InlineData(Condition.SoftShadow, 11)]
    [InlineData(Condition.Gradient, 10)]
    [InlineData(Condition.Line, 10)]
    [InlineData(Condition.HardShadow, 10)]
    [InlineData(Condition.Canvas, 11)]
    [InlineData(Condition.OptDigits, 8)]
    [InlineData(Condition.Number, 10)]
    public void Photos_of_each_condition_are_read(Condition condition, int atLeast)
    {
        var r = PhotoBench.Measure(Photos, condition, Count, Reader);
        output.WriteLine($"{Conditions.Describe(condition)}: {r.Right}/{r.Count}; wrong: {string.Join("; ", r.Mistakes)}");
        Assert.True(r.Right >= atLeast, $"{r.Right}/{r.Count} right; {string.Join("; ", r.Mistakes)}");
        Assert.Equal(0, r.Failed);
    }

    [Fact]
    public void A_number_is_read_left_to_right_with_a_box_per_digit_in_the_photo_s_pixels()
    {
        var sample = Photos.One(Condition.Number, 1);
        var reading = Reader.Read(sample.Bytes, sample.Name);
        Assert.Equal(sample.Label, reading.Number);
        Assert.Equal(sample.Label.Length, reading.Digits.Count);
        for (int i = 1; i < reading.Digits.Count; i++) Assert.True(reading.Digits[i].Box.X > reading.Digits[i - 1].Box.X);
        foreach (var d in reading.Digits)
        {
            Assert.InRange(d.Box.Right, 1, reading.SourceWidth);
            Assert.InRange(d.Box.Bottom, 1, reading.SourceHeight);
            Assert.True(d.Box.Height > reading.SourceHeight / 10, "boxes are in the original image's pixels, not the working copy's");
            Assert.Equal(1, d.Probabilities.Sum(), 1e-3);
        }

        var single = Reader.Read(sample.Bytes, sample.Name, single: true);
        Assert.Single(single.Digits);
        Assert.True(single.Uncertain, "several digits squeezed into one box are not read with confidence");
        Assert.Equal(DigitReader.UnlikeADigit, single.Reason);
    }

    [Fact]
    public void Mnist_digits_as_png_files_read_exactly_as_the_raw_digits()
    {
        var test = MnistDataset.Load(TestPaths.SmallMnist, train: false);
        var network = Reader.Network;
        var raw = new float[test.Count * 10];
        network.Predict(test.Images, test.Count, raw);
        for (int i = 0; i < test.Count; i++)
        {
            var reading = Reader.Read(DigitImages.ToPng(test.Image(i)), $"{i}.png");
            Assert.Equal(test.Image(i).ToArray(), reading.Digits[0].Input28);
            var expected = raw.AsSpan(i * 10, 10).ToArray();
            network.Calibration.Apply(expected);
            Assert.Equal(Array.IndexOf(expected, expected.Max()), reading.Digits[0].Digit);
        }
    }

    [Fact]
    public void A_dash_is_marked_unlike_a_digit_and_a_blank_page_has_no_digit()
    {
        using var bitmap = new SkiaSharp.SKBitmap(300, 200);
        using (var canvas = new SkiaSharp.SKCanvas(bitmap))
        {
            canvas.Clear(SkiaSharp.SKColors.White);
            canvas.DrawRect(40, 90, 220, 14, new SkiaSharp.SKPaint { Color = SkiaSharp.SKColors.Black });  // a dash, 16 times wider than tall
        }
        var png = SkiaSharp.SKImage.FromBitmap(bitmap).Encode(SkiaSharp.SKEncodedImageFormat.Png, 100).ToArray();
        var reading = Reader.Read(png, "blob.png");
        Assert.True(reading.Uncertain);
        Assert.Contains(DigitReader.UnlikeADigit, reading.Reason);

        using var blank = new SkiaSharp.SKBitmap(300, 200);
        blank.Erase(SkiaSharp.SKColors.White);
        var empty = SkiaSharp.SKImage.FromBitmap(blank).Encode(SkiaSharp.SKEncodedImageFormat.Png, 100).ToArray();
        Assert.Throws<NoDigitException>(() => Reader.Read(empty, "blank.png"));
    }
}
