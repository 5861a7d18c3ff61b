using LeNet.Data;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

public class DistortionTests
{
    static readonly MnistDataset Test = MnistDataset.Load(TestPaths.SmallMnist, train: false);

    static (double Mass, double X, double Y) Moments(ReadOnlySpan<byte> img)
    {
        double m = 0, mx = 0, my = 0;
        for (int i = 0; i < 784; i++) { m += img[i]; mx += img[i] * (i % 28); my += img[i] * (i / 28); }
        return (m, mx / m, my / m);
    }

    [Fact]
    public void Distortions_change_the_image_but_keep_the_digit_in_place_and_size()
    {
        var output = new byte[784];
        for (int i = 0; i < 50; i++)
        {
            var src = Test.Image(i);
            Distortion.Apply(src, output, new Rng((ulong)i));
            Assert.False(src.SequenceEqual(output));
            var a = Moments(src);
            var b = Moments(output);
            Assert.InRange(b.Mass / a.Mass, 0.6, 1.5);          // scaling by at most ~±25% in area
            Assert.InRange(Math.Abs(b.X - a.X), 0, 3.5);         // shifts of at most 2 px plus shear
            Assert.InRange(Math.Abs(b.Y - a.Y), 0, 3.0);
        }
    }

    [Fact]
    public void Distortions_are_reproducible_from_the_generator_state()
    {
        var a = new byte[784];
        var b = new byte[784];
        Distortion.Apply(Test.Image(3), a, new Rng(Rng.SeedFor(1, 2, 3)));
        Distortion.Apply(Test.Image(3), b, Rng.For(1, 2, 3));
        Assert.Equal(a, b);
    }

    [Fact]
    public void Training_with_distortions_learns()
    {
        var train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
        var options = TrainingOptions.For("lenet5") with { Epochs = 2, Limit = 2000, BatchSize = 32, Augment = true };
        var result = new Trainer(options, train, Test).Run();
        Assert.True(result.History[^1].TestAccuracy > 0.75, $"{result.History[^1].TestAccuracy:P1}");
    }
}
