// Batch normalisation and dropout: gradients against finite differences in both modes, the forward
// pass against its plain meaning at every vector width, and dropout's mask (its share, its scale,
// the same for the same seed).
using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Tests.Kernels;
using Xunit;

namespace LeNet.Tests.Layers;

[Collection(SimdCollection.Name)]
public sealed class BatchNormAndDropoutTests
{
    static readonly ForwardMode Training = new(true, 42);

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Tanh)]
    public void BatchNorm_training_backward_matches_finite_differences(Activation f) =>
        GradientCheck.Run(new BatchNorm("bn", new Shape(3, 4, 5), f), n: 3, eps: 1e-3f, mode: Training);

    [Fact]
    public void BatchNorm_relu_training_backward_matches_finite_differences() =>
        GradientCheck.Run(new BatchNorm("bn", new Shape(2, 3, 3), Activation.Relu), n: 4, eps: 1e-3f, tolerance: 5e-2f, mode: Training);

    [Fact]
    public void BatchNorm_over_dense_features_backward_matches_finite_differences() =>
        GradientCheck.Run(new BatchNorm("bn", new Shape(6, 1, 1), Activation.None), n: 5, eps: 1e-3f, mode: Training);

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Sigmoid)]
    public void BatchNorm_inference_backward_matches_finite_differences(Activation f) =>
        GradientCheck.Run(new BatchNorm("bn", new Shape(3, 4, 5), f), n: 2);

    [Fact]
    public void Dropout_training_backward_matches_finite_differences() =>
        GradientCheck.Run(new Dropout("drop", new Shape(40, 1, 1), 0.3f), n: 3, mode: Training);

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void BatchNorm_forward_matches_its_definition_at_every_width(SimdWidth width)
    {
        using var _ = Simd.Use(width);
        var rng = new Random(8);
        foreach (var (shape, n) in new[] { (new Shape(3, 28, 28), 4), (new Shape(5, 7, 7), 3), (new Shape(4, 1, 1), 9), (new Shape(2, 3, 5), 1) })
        {
            var bn = new BatchNorm("bn", shape, Activation.Relu);
            int c = shape.C, plane = shape.H * shape.W;
            var p = Enumerable.Range(0, bn.ParameterCount).Select(_ => rng.NextSingle() + 0.5f).ToArray();
            // Values far from 0, so a variance taken as E[x²] − μ² would lose digits.
            var x = Enumerable.Range(0, n * shape.Size).Select(_ => 30 + 2 * rng.NextSingle()).ToArray();
            foreach (bool training in new[] { true, false })
            {
                var y = new float[x.Length];
                bn.Forward(p, x, y, n, new float[bn.ScratchLength(n)], new ForwardMode(training));
                for (int ch = 0; ch < c; ch++)
                {
                    var values = Enumerable.Range(0, n).SelectMany(s => x.Skip((s * c + ch) * plane).Take(plane)).Select(v => (double)v).ToArray();
                    double mean = training ? values.Average() : p[2 * c + ch];
                    double variance = training ? values.Sum(v => (v - mean) * (v - mean)) / values.Length : p[3 * c + ch];
                    for (int s = 0; s < n; s++)
                        for (int i = 0; i < plane; i++)
                        {
                            int at = (s * c + ch) * plane + i;
                            double expected = Math.Max(0, p[ch] * (x[at] - mean) / Math.Sqrt(variance + BatchNorm.Epsilon) + p[c + ch]);
                            Assert.True(Math.Abs(y[at] - expected) <= 2e-3 * Math.Max(1, Math.Abs(expected)), $"{shape} n={n} training={training} at {at}: {y[at]} vs {expected}");
                        }
                }
            }
        }
    }

    [Fact]
    public void BatchNorm_training_output_has_mean_0_and_variance_1_per_channel()
    {
        var bn = new BatchNorm("bn", new Shape(2, 6, 6), Activation.None);
        var p = new float[bn.ParameterCount];
        bn.InitializeParameters(p, new LeNet.Rng(1));
        var rng = new Random(4);
        var x = Enumerable.Range(0, 5 * 72).Select(i => (i % 72 < 36 ? 3f : -7f) + 4 * rng.NextSingle()).ToArray();
        var y = new float[x.Length];
        var scratch = new float[bn.ScratchLength(5)];
        bn.Forward(p, x, y, 5, scratch, Training);
        for (int ch = 0; ch < 2; ch++)
        {
            var v = Enumerable.Range(0, 5).SelectMany(s => y.Skip((s * 2 + ch) * 36).Take(36)).ToArray();
            Assert.Equal(0, v.Average(), 4);
            Assert.Equal(1, v.Select(a => (double)a * a).Average(), 3);
        }
        var mean = new float[2];
        var variance = new float[2];
        bn.StatisticsOfLastPass(scratch, mean, variance);
        Assert.Equal(x.Where((_, i) => i % 72 < 36).Average(), mean[0], 3);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Dropout_keeps_about_1_minus_rate_scaled_and_the_same_mask_for_the_same_seed(SimdWidth width)
    {
        using var _ = Simd.Use(width);
        var drop = new Dropout("drop", new Shape(256, 1, 1), 0.3f);
        var x = Enumerable.Range(0, 32 * 256).Select(i => 1f + i % 5).ToArray();
        float[] Run(ForwardMode mode)
        {
            var y = new float[x.Length];
            drop.Forward(default, x, y, 32, new float[drop.ScratchLength(32)], mode);
            return y;
        }
        var a = Run(new ForwardMode(true, 5));
        double kept = a.Count(v => v != 0) / (double)a.Length;
        Assert.InRange(kept, 0.67, 0.73);
        for (int i = 0; i < x.Length; i++) Assert.True(a[i] == 0 || Math.Abs(a[i] - x[i] / 0.7f) < 1e-5f);
        Assert.Equal(a, Run(new ForwardMode(true, 5)));
        Assert.NotEqual(a, Run(new ForwardMode(true, 6)));
        Assert.Equal(x, Run(ForwardMode.Inference));
    }

    [Fact]
    public void Dropout_rate_outside_0_to_1_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout("drop", new Shape(4, 1, 1), 1f));
}
