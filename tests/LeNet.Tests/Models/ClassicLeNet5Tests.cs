using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Models;

/// <summary>The 1998 LeNet-5 reproduces the paper's architecture and counts exactly.</summary>
public class ClassicLeNet5Tests
{
    static Network Build() => Architectures.Build(Architectures.Default(Architectures.LeNet5Classic));

    [Fact]
    public void Summary_reproduces_the_papers_counts_layer_by_layer()
    {
        var s = ModelSummary.Of(Build());
        Assert.Equal(new[] { "C1", "S2", "C3", "S4", "C5", "F6", "output" }, s.Layers.Select(l => l.Name));
        Assert.Equal(new[] { 156, 12, 1_516, 32, 48_120, 10_164, 0 }, s.Layers.Select(l => l.Parameters));
        Assert.Equal(new long[] { 122_304, 5_880, 151_600, 2_000, 48_120, 10_164, 840 }, s.Layers.Select(l => l.Connections));
        Assert.Equal(840, s.Layers[^1].FixedParameters);
        Assert.Equal(60_000, s.Parameters);
        Assert.Equal(340_908, s.Connections);
        Assert.Equal(new Shape(1, 32, 32), s.InputShape);
        Assert.Equal(new[] { new Shape(6, 28, 28), new Shape(6, 14, 14), new Shape(16, 10, 10), new Shape(16, 5, 5), new Shape(120, 1, 1), new Shape(84, 1, 1), new Shape(10, 1, 1) },
            s.Layers.Select(l => l.OutputShape));
    }

    [Fact]
    public void C3_table_matches_table_I_of_the_paper()
    {
        var t = Architectures.C3ConnectionTable;
        Assert.Equal(60, t.Sum(m => m.Length));
        for (int j = 0; j < 6; j++) Assert.Equal(new[] { j, (j + 1) % 6, (j + 2) % 6 }.Order(), t[j]);            // 3 contiguous
        for (int j = 6; j < 12; j++) Assert.Equal(Enumerable.Range(0, 4).Select(k => (j - 6 + k) % 6).Order(), t[j]); // 4 contiguous
        Assert.Equal(new[] { new[] { 0, 1, 3, 4 }, [1, 2, 4, 5], [0, 2, 3, 5] }, t[12..15]);                     // 4 non-contiguous
        Assert.Equal(Enumerable.Range(0, 6), t[15]);
    }

    [Fact]
    public void Input_is_padded_to_32x32_with_the_papers_levels()
    {
        var net = Build();
        var x = new float[32 * 32];
        var image = new byte[784];
        image[0] = 255;
        net.Encoding.Encode(image, x);
        Assert.Equal(-0.1f, x[0]);
        Assert.Equal(1.175f, x[2 * 32 + 2], 5);
        Assert.Equal(-0.1f, x[31 * 32 + 31]);
    }

    [Fact]
    public void Weights_start_uniform_within_2_4_over_fan_in()
    {
        var net = Build();
        net.Initialize(9);
        var c1 = net.Layers[0];
        var w = net.ParametersOf(c1)[..150];
        Assert.All(w.ToArray(), v => Assert.InRange(v, -2.4f / 25, 2.4f / 25));
        Assert.True(w.ToArray().Max() > 0.8f * 2.4f / 25);
        var c3 = (Conv2d)net.Layers[2];
        // C3 map 15 reads all six S2 maps: fan-in 150.
        Assert.All(c3.Kernel(net.ParametersOf(c3), 15, 0).ToArray(), v => Assert.InRange(v, -2.4f / 150, 2.4f / 150));
        Assert.True(c3.Kernel(net.ParametersOf(c3), 0, 5).IsEmpty);
    }

    [Fact]
    public void Rbf_centres_are_plus_minus_one_bitmaps_and_distinct()
    {
        var c = RbfOutput.Centres.ToArray();
        Assert.Equal(840, c.Length);
        Assert.All(c, v => Assert.True(v is 1f or -1f));
        for (int a = 0; a < 10; a++)
            for (int b = a + 1; b < 10; b++)
                Assert.False(c.AsSpan(a * 84, 84).SequenceEqual(c.AsSpan(b * 84, 84)), $"{a} and {b}");
    }

    [Fact]
    public void Rbf_output_is_the_squared_distance_to_each_centre()
    {
        var rbf = new RbfOutput("out", new Shape(84, 1, 1));
        var x = RbfOutput.Centres[(3 * 84)..(4 * 84)].ToArray();
        var y = new float[10];
        rbf.Forward([], x, y, 1, []);
        Assert.Equal(0f, y[3]);
        Assert.Equal(3, Array.IndexOf(y, y.Min()));
    }

    [Fact]
    public void Rbf_backward_matches_finite_differences() =>
        LeNet.Tests.Layers.GradientCheck.Run(new RbfOutput("out", new Shape(84, 1, 1)), n: 2, tolerance: 3e-2f);

    [Fact]
    public void Papers_loss_gradient_matches_finite_differences()
    {
        var loss = new RbfMaximumAPosteriori();
        var rng = new Rng(3);
        var y = Enumerable.Range(0, 20).Select(_ => rng.Uniform(0, 4)).ToArray();
        byte[] labels = [2, 8];
        LeNet.Tests.Models.LossGradientCheck.Run(loss, y, labels);
    }

    [Fact]
    public void Papers_loss_is_finite_for_huge_penalties_and_the_smallest_penalty_wins()
    {
        var loss = new RbfMaximumAPosteriori();
        float[] y = [500, 400, 3, 900, 1e6f, 700, 800, 600, 300, 200];
        Assert.True(double.IsFinite(loss.SampleLoss(y, 2)));
        var p = new float[10];
        loss.Probabilities(y, p);
        Assert.Equal(2, Array.IndexOf(p, p.Max()));
        Assert.Equal(1.0, p.Sum(), 5);
    }

    [Fact]
    public void Whole_network_input_gradient_matches_finite_differences()
    {
        // End to end through C1..RBF and the paper's loss, on one image.
        var net = Build();
        net.Initialize(4);
        var ws = net.CreateWorkspace(1);
        var rng = new Rng(8);
        var x = Enumerable.Range(0, 1024).Select(_ => rng.Uniform(-0.1f, 1.175f)).ToArray();
        byte[] label = [6];
        double Loss()
        {
            x.CopyTo(ws.Input);
            net.Forward(ws, 1);
            return net.Loss.Compute(ws.Output, label, 1, ws.OutputGradient, 1f, out _);
        }
        Loss();
        Array.Clear(ws.ParameterGradients);
        net.Backward(ws, 1, inputGradient: true);
        var analytic = ws.InputGradient[..1024].ToArray();
        foreach (int i in new[] { 0, 100, 333, 528, 700, 1023 })
        {
            float keep = x[i];
            x[i] = keep + 1e-2f; double up = Loss();
            x[i] = keep - 1e-2f; double down = Loss();
            x[i] = keep;
            double numeric = (up - down) / 2e-2;
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-2 * Math.Max(1, Math.Abs(numeric)), $"pixel {i}: {analytic[i]} vs {numeric}");
        }
    }

    [Fact]
    public void Classic_model_saves_and_loads()
    {
        var net = Build();
        net.Initialize(5);
        var path = Path.Combine(TestPaths.NewTempDirectory(), "c.lenet");
        ModelFile.Save(path, net);
        var back = ModelFile.Load(path);
        Assert.Equal(Architectures.LeNet5Classic, back.Spec.Name);
        Assert.Equal(net.Parameters, back.Parameters);
    }
}
