using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

public class ScheduleAndLossTests
{
    [Fact]
    public void OneCycle_warms_up_to_the_peak_at_30_percent_then_anneals_to_nearly_zero()
    {
        Assert.Equal(0.004f, Schedule.Rate(ScheduleKind.OneCycle, 0.1f, 0, 1001), 5);
        Assert.Equal(0.1f, Schedule.Rate(ScheduleKind.OneCycle, 0.1f, 300, 1001), 5);
        Assert.True(Schedule.Rate(ScheduleKind.OneCycle, 0.1f, 1000, 1001) < 1e-6f);
    }

    [Fact]
    public void Step_schedule_divides_by_ten_at_half_and_three_quarters()
    {
        Assert.Equal(0.1f, Schedule.Rate(ScheduleKind.Step, 0.1f, 10, 101));
        Assert.Equal(0.01f, Schedule.Rate(ScheduleKind.Step, 0.1f, 60, 101), 6);
        Assert.Equal(0.001f, Schedule.Rate(ScheduleKind.Step, 0.1f, 90, 101), 6);
    }

    [Fact]
    public void Softmax_cross_entropy_gradient_matches_finite_differences()
    {
        var loss = new SoftmaxCrossEntropy();
        var rng = new Rng(5);
        var z = Enumerable.Range(0, 20).Select(_ => rng.Uniform(-3, 3)).ToArray();
        byte[] labels = [3, 7];
        LeNet.Tests.Models.LossGradientCheck.Run(loss, z, labels);
        Assert.Equal(loss.Compute(z, labels, 2, new float[20], 1f, out _), loss.SampleLoss(z.AsSpan(0, 10), 3) + loss.SampleLoss(z.AsSpan(10, 10), 7), 4);
    }

    [Fact]
    public void Label_smoothing_gradient_matches_finite_differences_and_pulls_towards_the_smoothed_target()
    {
        var loss = new SoftmaxCrossEntropy(0.1f);
        var rng = new Rng(6);
        var z = Enumerable.Range(0, 20).Select(_ => rng.Uniform(-3, 3)).ToArray();
        byte[] labels = [2, 9];
        LeNet.Tests.Models.LossGradientCheck.Run(loss, z, labels);
        Assert.Equal(loss.Compute(z, labels, 2, new float[20], 1f, out _), loss.SampleLoss(z.AsSpan(0, 10), 2) + loss.SampleLoss(z.AsSpan(10, 10), 9), 4);
        // At softmax = (0.91 on the label, 0.01 elsewhere) the gradient vanishes: that is the target.
        var target = Enumerable.Range(0, 10).Select(i => (float)Math.Log(i == 4 ? 0.91 : 0.01)).ToArray();
        var d = new float[10];
        loss.Compute(target, [4], 1, d, 1f, out _);
        Assert.All(d, g => Assert.True(Math.Abs(g) < 1e-6, $"gradient {g}"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxCrossEntropy(1f));
    }

    [Fact]
    public void Softmax_is_stable_for_huge_logits()
    {
        var p = new float[10];
        new SoftmaxCrossEntropy().Probabilities([1000, 999, 0, 0, 0, 0, 0, 0, 0, -1000], p);
        Assert.All(p, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1.0, p.Sum(), 5);
    }
}
