// Network.Predict splits a batch over threads and reuses pooled inference buffers: the answers do not
// depend on either, and predicting one image allocates nothing once the buffers exist.
using LeNet.Models;
using Xunit;

namespace LeNet.Tests.Models;

public sealed class PredictTests
{
    [Theory]
    [InlineData(Architectures.LeNet5)]
    [InlineData(Architectures.LeNet5Classic)]
    public void Any_thread_count_and_batch_split_gives_the_answers_of_one_image_at_a_time(string arch)
    {
        var net = Architectures.Build(Architectures.Default(arch));
        net.Initialize(3);
        const int count = 300;
        var images = new byte[count * 784];
        new Random(2).NextBytes(images);
        var one = new float[count * 10];
        for (int i = 0; i < count; i++) net.Predict(images.AsSpan(i * 784, 784), 1, one.AsSpan(i * 10, 10), threads: 1);
        foreach (int threads in new[] { 1, 2, 3 })
            foreach (int n in new[] { 7, 20, count })
            {
                var p = new float[n * 10];
                var raw = new float[n * 10];
                net.Predict(images.AsSpan(0, n * 784), n, p, threads, raw);
                for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(one[i] - p[i]) < 1e-5, $"{threads} threads, {n} images, at {i}: {p[i]} vs {one[i]}");
                Assert.Contains(raw, v => v != 0);
            }
        var trace = net.Trace(images.AsSpan(0, 784));
        for (int c = 0; c < 10; c++) Assert.True(Math.Abs(one[c] - trace.Probabilities[c]) < 1e-5);
    }

    [Fact]
    public void One_image_gives_a_prediction_with_the_digit_and_every_probability()
    {
        var net = PretrainedModels.LeNet5;
        var test = LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: false);
        var prediction = net.Predict(test.Image(0));
        Assert.Equal(test.Labels[0], prediction.Digit);
        Assert.Equal(10, prediction.Probabilities.Length);
        Assert.InRange(prediction.Probabilities.Sum(), 0.999f, 1.001f);
        Assert.Equal(prediction.Probabilities.Max(), prediction.Confidence);
        Assert.Equal(prediction.Digit, prediction.Top(3).First().Digit);
        var batch = new float[10];
        net.Predict(test.Image(0), 1, batch);
        Assert.Equal(batch, prediction.Probabilities);
        Assert.Throws<ArgumentException>(() => net.Predict(new byte[100]));
        Assert.Equal(prediction.Digit, PretrainedModels.LeNet5Classic.Predict(test.Image(0)).Digit);
    }

    [Fact]
    public void Predicting_one_image_allocates_nothing_after_the_first()
    {
        var net = Architectures.Build(Architectures.Default(Architectures.LeNet5));
        net.Initialize(4);
        var image = new byte[784];
        new Random(3).NextBytes(image);
        var p = new float[10];
        for (int i = 0; i < 5; i++) net.Predict(image, 1, p, threads: 1);
        // Judged by the cleanest of six windows: the runtime's own bookkeeping (tiering up a method that
        // just got hot) can land in one window, while an allocation in Predict shows in every one.
        var perCall = new long[6];
        for (int w = 0; w < perCall.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) net.Predict(image, 1, p, threads: 1);
            perCall[w] = (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
        }
        Assert.True(perCall.Min() == 0, $"bytes allocated per prediction in each window: {string.Join(", ", perCall)}");
    }

    [Fact]
    public void Predict_names_a_destination_that_is_too_small()
    {
        var net = Architectures.Build(Architectures.Default(Architectures.LeNet5));
        var e = Assert.Throws<ArgumentException>(() => net.Predict(new byte[2 * 784], 2, new float[10]));
        Assert.Equal("probabilities", e.ParamName);
    }
}
