// The optimizers' update rules against their formulas, and the vector loops against the scalar
// ones: the same parameters bit for bit at every SIMD width, whatever the length's remainder.
using LeNet.Kernels;
using LeNet.Tests.Kernels;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

[Collection(SimdCollection.Name)]
public sealed class OptimizerTests
{
    static (float[] P, Optimizer O) Run(string name, SimdWidth width, int length)
    {
        using var _ = Simd.Use(width);
        var rng = new Rng(9);
        var p = Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var o = Optimizer.Create(name, length);
        for (int step = 0; step < 5; step++)
        {
            var g = Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray();
            o.Step(p, g, 0.01f);
        }
        return (p, o);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("rmsprop")]
    public void Every_width_gives_the_same_parameters_and_state(string name)
    {
        foreach (int length in new[] { 1, 7, 8, 24, 61_706 })
        {
            var (reference, referenceOptimizer) = Run(name, SimdWidth.Scalar, length);
            foreach (SimdWidth width in GemmTests.Widths())
            {
                var (p, o) = Run(name, width, length);
                Assert.Equal(reference, p);
                foreach (var (key, values) in referenceOptimizer.State) Assert.Equal(values, o.State[key]);
            }
        }
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("rmsprop")]
    public void An_update_in_ranges_equals_one_step(string name)
    {
        // The trainer splits an update across its threads: any split gives the same parameters and state.
        const int length = 1_003;
        var rng = new Rng(4);
        var start = Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var whole = (float[])start.Clone();
        var parts = (float[])start.Clone();
        var a = Optimizer.Create(name, length);
        var b = Optimizer.Create(name, length);
        int[] cuts = [0, 5, 16, 500, 999, length];
        for (int step = 0; step < 4; step++)
        {
            var g = Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray();
            a.Step(whole, g, 0.01f);
            b.BeginStep();
            for (int c = cuts.Length - 2; c >= 0; c--)
                b.UpdateRange(parts.AsSpan(cuts[c], cuts[c + 1] - cuts[c]), g.AsSpan(cuts[c], cuts[c + 1] - cuts[c]), 0.01f, cuts[c]);
        }
        Assert.Equal(whole, parts);
        Assert.Equal(a.Steps, b.Steps);
        foreach (var (key, values) in a.State) Assert.Equal(values, b.State[key]);
        Assert.Throws<ArgumentException>(() => b.UpdateRange(parts.AsSpan(0, 4), new float[3], 0.01f, 0));
    }

    [Fact]
    public void Adam_takes_a_first_step_of_lr_against_the_gradient_sign()
    {
        // With bias correction, m̂ = g and v̂ = g² after one step: the update is lr·g/(|g| + ε).
        var p = new float[] { 1f, -2f, 0.5f, 3f, 0f, 1f, 1f, 1f, 1f };
        var g = new float[] { 0.3f, -4f, 1e-3f, 2f, -1f, 0.5f, 0.5f, 0.5f, -0.25f };
        var expected = p.Select((v, i) => v - 0.1f * g[i] / (MathF.Abs(g[i]) + 1e-8f)).ToArray();
        Optimizer.Create("adam", p.Length).Step(p, g, 0.1f);
        for (int i = 0; i < p.Length; i++) Assert.Equal(expected[i], p[i], 5);
    }

    [Fact]
    public void AdamW_also_shrinks_every_weight_by_lr_times_the_decay()
    {
        // Where the gradient is 0 Adam does not move; the decoupled decay still takes lr·λ·p away.
        var p = new float[] { 1f, -2f, 0.5f, 3f, 0f, 1f, 1f, 1f, 1f, 7f, -7f };
        var g = new float[p.Length];
        g[3] = 2f;
        var expected = p.Select((v, i) => v - 0.1f * g[i] / (MathF.Abs(g[i]) + 1e-8f) - 0.1f * 0.5f * v).ToArray();
        Optimizer.Create("adam", p.Length, weightDecay: 0.5f).Step(p, g, 0.1f);
        for (int i = 0; i < p.Length; i++) Assert.Equal(expected[i], p[i], 5);

        Assert.Throws<LeNetException>(() => Optimizer.Create("sgd", 3, weightDecay: 0.1f));
        var options = TrainingOptions.For("lenet5") with { WeightDecay = 0.1f, Optimizer = "rmsprop" };
        Assert.Contains("AdamW", Assert.Throws<InvalidOptionException>(options.Validate).Message);
        Assert.Throws<InvalidOptionException>((options with { Optimizer = "adam", WeightDecay = 1f }).Validate);
        // The decay is kept with the run's options, so a resumed run goes on with it.
        Assert.Equal(0.1f, TrainingOptions.FromJson((options with { Optimizer = "adam" }).ToJson(), options.Architecture).WeightDecay);
    }
}
