// cnn-bn, the network with batch normalisation and dropout: its size, the statistics recomputed from
// training images, the folded network inference runs (the same outputs as the layers one by one),
// saving and loading, and training that does not depend on the thread count.
using LeNet.Data;
using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Models;

public sealed class BatchNormNetworkTests
{
    static readonly MnistDataset Test = MnistDataset.LoadEmbedded(train: false);

    /// <summary>cnn-bn with random weights, statistics from 256 test images, and γ, β away from 1, 0: every part of the fold matters.</summary>
    internal static Network WithStatistics(ulong seed = 5)
    {
        var net = Architectures.Build(Architectures.Default(Architectures.CnnBn));
        net.Initialize(seed);
        var rng = new LeNet.Rng(seed);
        foreach (var bn in net.Layers.OfType<BatchNorm>())
        {
            var p = net.ParametersOf(bn);
            int c = bn.InputShape.C;
            for (int i = 0; i < 2 * c; i++) p[i] += rng.Uniform(-0.3f, 0.3f);
        }
        net.RecomputeStatistics(Test.Images, 256, 32);
        return net;
    }

    [Fact]
    public void CnnBn_has_its_parameter_count_and_best_names_it()
    {
        var net = Architectures.Build(Architectures.Default(Architectures.Best));
        Assert.Equal(Architectures.CnnBn, net.Spec.Name);
        Assert.Equal(871_402, net.Parameters.Length);
        Assert.Equal(384, net.Layers.Sum(l => l.StatisticsCount));
        Assert.Equal(Architectures.CnnBn, TrainingOptions.For(Architectures.Best).Architecture.Name);
    }

    [Fact]
    public void Folded_network_gives_the_outputs_of_the_layers_one_by_one()
    {
        var net = WithStatistics();
        var folded = net.ForInference;
        Assert.NotSame(net, folded);
        Assert.DoesNotContain(folded.Layers, l => l is BatchNorm or Dropout);
        Assert.Equal(net.Layers.Count - 5, folded.Layers.Count);
        const int count = 40;
        var raw = new float[count * 10];
        net.Predict(Test.Images, count, new float[count * 10], threads: 2, rawOutputs: raw);
        for (int i = 0; i < count; i++)
        {
            // Trace runs every layer of the network itself, in inference mode.
            var layered = net.Trace(Test.Image(i)).LayerOutputs[^1];
            for (int k = 0; k < 10; k++)
                Assert.True(Math.Abs(raw[i * 10 + k] - layered[k]) <= 1e-4f * Math.Max(1, Math.Abs(layered[k])), $"image {i} class {k}: folded {raw[i * 10 + k]} vs {layered[k]}");
        }
    }

    [Fact]
    public void Recomputed_statistics_are_the_population_statistics_of_what_the_layer_sees()
    {
        var net = Architectures.Build(Architectures.Default(Architectures.CnnBn));
        net.Initialize(9);
        const int count = 64;
        net.RecomputeStatistics(Test.Images, count, 16);
        // bn1 normalises conv1's outputs, which no statistics change: compute them over all 64 images.
        var conv1 = Enumerable.Range(0, count).Select(i => net.Trace(Test.Image(i)).LayerOutputs[0]).ToArray();
        var bn1 = (BatchNorm)net.Layers[1];
        var p = net.ParametersOf(bn1);
        for (int ch = 0; ch < 32; ch++)
        {
            var values = conv1.SelectMany(o => o.Skip(ch * 784).Take(784)).Select(v => (double)v).ToArray();
            double mean = values.Average(), variance = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
            Assert.Equal(mean, p[64 + ch], 1e-4 * Math.Max(1, Math.Abs(mean)));
            Assert.Equal(variance, p[96 + ch], 1e-4 * Math.Max(1, variance));
        }
    }

    [Fact]
    public void A_saved_model_keeps_its_statistics()
    {
        var net = WithStatistics(7);
        string path = Path.Combine(TestPaths.NewTempDirectory(), "bn.lenet");
        ModelFile.Save(path, net);
        var loaded = ModelFile.Load(path);
        Assert.Equal(net.Parameters, loaded.Parameters);
        var a = new float[100];
        var b = new float[100];
        net.Predict(Test.Images, 10, a);
        loaded.Predict(Test.Images, 10, b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void A_model_file_with_a_negative_variance_is_refused_by_layer()
    {
        var net = WithStatistics(3);
        net.Parameters[net.Layers[3].ParameterOffset + 3 * 32 + 4] = -0.5f;   // bn2's variance of channel 4
        string path = Path.Combine(TestPaths.NewTempDirectory(), "bad.lenet");
        ModelFile.Save(path, net);
        var e = Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(path));
        Assert.Contains("bn2", e.Message);
        Assert.Contains("negative variance", e.Message);
    }

    [Fact]
    public void Training_is_deterministic_whatever_the_thread_count_and_sets_the_statistics()
    {
        var train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
        var test = MnistDataset.Load(TestPaths.SmallMnist, train: false).Take(100);
        // Batch 64 is two ghost batches of 32; the last batch (160 = 2 × 64 + 32) is one.
        var options = TrainingOptions.For(Architectures.CnnBn) with { Epochs = 1, Limit = 160, BatchSize = 64, Threads = 2, Augment = false, ElasticAlpha = 0 };
        var a = new Trainer(options, train, test).Run().Network;
        Assert.Equal(a.Parameters, new Trainer(options with { Threads = 1 }, train, test).Run().Network.Parameters);
        var bn1 = a.ParametersOf(a.Layers[1]);
        Assert.Contains(bn1[64..96].ToArray(), m => m != 0);   // the means, no longer their initial 0
    }
}
