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

    // ---------- elastic distortions ----------

    /// <summary>The exact field: the same uniform values, smoothed by a true Gaussian (zero beyond the edges), times α.</summary>
    static float[][] ExactField(ulong seed, float alpha, float sigma)
    {
        var rng = new Rng(seed);
        var u = new[] { new double[784], new double[784] };
        for (int i = 0; i < 784; i++)
        {
            ulong bits = rng.NextUInt64();
            u[0][i] = (bits >> 40) * (2.0 / (1 << 24)) - 1;
            u[1][i] = ((bits >> 16) & 0xFFFFFF) * (2.0 / (1 << 24)) - 1;
        }
        int r = (int)Math.Ceiling(4 * sigma);
        var g = Enumerable.Range(-r, 2 * r + 1).Select(k => Math.Exp(-k * k / (2.0 * sigma * sigma))).ToArray();
        double total = g.Sum();
        return u.Select(f =>
        {
            var rows = new double[784];
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    for (int k = -r; k <= r; k++)
                        if ((uint)(x + k) < 28) rows[y * 28 + x] += g[k + r] / total * f[y * 28 + x + k];
            var result = new float[784];
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    double v = 0;
                    for (int k = -r; k <= r; k++)
                        if ((uint)(y + k) < 28) v += g[k + r] / total * rows[(y + k) * 28 + x];
                    result[y * 28 + x] = (float)(v * alpha);
                }
            return result;
        }).ToArray();
    }

    [Theory]
    [InlineData(34f, 4f)]
    [InlineData(36f, 6f)]
    [InlineData(8f, 1.5f)]
    public void The_elastic_field_is_a_Gaussian_smoothed_random_field(float alpha, float sigma)
    {
        var field = new ElasticField(alpha, sigma);
        double difference = 0, energy = 0, size = 0;
        for (ulong seed = 1; seed <= 20; seed++)
        {
            field.Generate(new Rng(seed));
            var exact = ExactField(seed, alpha, sigma);
            for (int i = 0; i < 784; i++)
                for (int axis = 0; axis < 2; axis++)
                {
                    double e = exact[axis][i], d = (axis == 0 ? field.Dx : field.Dy)[i] - e;
                    difference += d * d;
                    energy += e * e;
                    size = Math.Max(size, Math.Abs(e));
                }
        }
        // The same field as a direct Gaussian convolution, to float rounding.
        double relative = Math.Sqrt(difference / energy);
        Assert.True(relative < 1e-5, $"RMS difference {relative:P4} of the exact field's");
        Assert.True(size > 0.3 && size < alpha, $"displacements up to {size:F3} px");
    }

    [Fact]
    public void Elastic_distortions_move_the_ink_smoothly_and_add_to_the_affine_ones()
    {
        var affine = new byte[784];
        var none = new byte[784];
        var elastic = new byte[784];
        int changed = 0;
        for (int i = 0; i < 30; i++)
        {
            var src = Test.Image(i);
            Distortion.Apply(src, affine, new Rng((ulong)i));
            // α = 0: the same image as without the elastic part (the affine draws come first).
            Distortion.Apply(src, none, new Rng((ulong)i), new ElasticField(0, 4));
            Assert.Equal(affine, none);
            Distortion.Apply(src, elastic, new Rng((ulong)i), new ElasticField(34, 4));
            if (!elastic.AsSpan().SequenceEqual(affine)) changed++;
            var a = Moments(affine);
            var b = Moments(elastic);
            Assert.InRange(b.Mass / a.Mass, 0.6, 1.6);
            Assert.InRange(Math.Abs(b.X - a.X), 0, 3.0);
            Assert.InRange(Math.Abs(b.Y - a.Y), 0, 3.0);
        }
        Assert.Equal(30, changed);
    }

    [Fact]
    public void Training_with_elastic_distortions_is_reproducible_and_learns()
    {
        var train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
        var options = TrainingOptions.For("lenet5") with { Epochs = 2, Limit = 2000, BatchSize = 32, Augment = true, ElasticAlpha = 34, Threads = 2 };
        var a = new Trainer(options, train, Test).Run();
        var b = new Trainer(options with { Threads = 1 }, train, Test).Run();
        Assert.Equal(a.Network.Parameters, b.Network.Parameters);
        Assert.True(a.History[^1].TestAccuracy > 0.7, $"{a.History[^1].TestAccuracy:P1}");
        Assert.Throws<InvalidOptionException>(() => (options with { Augment = false }).Validate());
        Assert.Throws<InvalidOptionException>(() => (options with { ElasticSigma = 0 }).Validate());
    }
}
