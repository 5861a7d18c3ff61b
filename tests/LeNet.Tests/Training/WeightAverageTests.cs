using LeNet.Data;
using LeNet.Kernels;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

/// <summary>The exponential moving average of the weights (TrainingOptions.Ema, lenet train --ema).</summary>
public class WeightAverageTests
{
    static readonly MnistDataset Train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
    static readonly MnistDataset Test = MnistDataset.Load(TestPaths.SmallMnist, train: false);

    static TrainingOptions Quick(string arch = Architectures.LeNet5, int epochs = 2, int limit = 640) => TrainingOptions.For(arch) with
    {
        Epochs = epochs, Limit = limit, Threads = 2, BatchSize = 32, Augment = false, ElasticAlpha = 0,
    };

    [Fact]
    public void The_average_moves_a_fraction_one_minus_d_towards_the_weights()
    {
        var average = Enumerable.Range(0, 37).Select(i => (float)i).ToArray();
        var weights = Enumerable.Range(0, 37).Select(i => 100f - i).ToArray();
        Updates.Average(average, weights, 0.9f);
        for (int i = 0; i < 37; i++) Assert.Equal(0.9f * i + 0.1f * (100 - i), average[i], 4);
        Assert.Throws<ArgumentException>(() => Updates.Average(average, weights.AsSpan(1), 0.9f));
    }

    [Fact]
    public void The_decay_follows_the_weights_closely_at_first_and_reaches_d_later()
    {
        Assert.Equal(0.1f, Trainer.AverageDecay(0.999f, 0));
        Assert.Equal(0.5f, Trainer.AverageDecay(0.999f, 8));
        Assert.Equal(0.999f, Trainer.AverageDecay(0.999f, 100_000));
    }

    [Fact]
    public void Training_is_unchanged_and_the_average_is_what_is_tested_and_saved()
    {
        var dir = TestPaths.NewTempDirectory();
        var plain = new Trainer(Quick(), Train, Test).Run();
        var trainer = new Trainer(Quick() with { Ema = 0.9f }, Train, Test) { ModelPath = Path.Combine(dir, "m.lenet") };
        var averaged = trainer.Run();

        // The steps never see the average: the last weights are those of the run without one.
        Assert.Equal(plain.Network.Parameters, trainer.Network.Parameters);
        Assert.NotEqual(trainer.Network.Parameters, averaged.Network.Parameters);
        // What is saved, tested and returned is the average.
        var saved = ModelFile.Load(Path.Combine(dir, "m.lenet"));
        Assert.Equal(averaged.Network.Parameters, saved.Parameters);
        var evaluation = Evaluator.Evaluate(saved, Test, 2);
        Assert.Equal(averaged.History[^1].TestAccuracy, evaluation.Accuracy);
        Assert.Equal(averaged.FinalEvaluation!.Accuracy, evaluation.Accuracy);
        // The last weights are scored too, for comparison.
        Assert.Equal(plain.FinalEvaluation!.Accuracy, averaged.LastWeightsEvaluation!.Accuracy);
        Assert.Null(plain.LastWeightsEvaluation);
        Assert.True(averaged.History[^1].TestAccuracy > 0.5, $"{averaged.History[^1].TestAccuracy:P1}");
    }

    [Fact]
    public void A_batch_norm_average_gets_statistics_of_its_own_and_resumes_exactly()
    {
        var dir = TestPaths.NewTempDirectory();
        var options = Quick(Architectures.CnnBn, limit: 256) with { Ema = 0.9f };
        var straight = new Trainer(options, Train, Test).Run();

        using var cancel = new CancellationTokenSource();
        var first = new Trainer(options, Train, Test) { CheckpointPath = Path.Combine(dir, "run.ckpt") };
        first.StepCompleted = p => { if (p.Epoch == 2 && p.Step == 3) cancel.Cancel(); };
        Assert.True(first.Run(cancel.Token).Interrupted);
        var resumed = Trainer.Resume(Path.Combine(dir, "run.ckpt"), Train, Test).Run();
        Assert.Equal(straight.Network.Parameters, resumed.Network.Parameters);

        // Its statistics are those of the averaged weights, not a copy of the last weights' ones.
        var recomputed = straight.Network.Clone();
        new Trainer(options, Train, Test).UpdateStatistics(recomputed);
        Assert.Equal(straight.Network.Parameters, recomputed.Parameters);
    }

    [Fact]
    public void A_decay_outside_0_to_1_is_refused_as_the_ema_option()
    {
        var e = Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { Ema = 1 }, Train, Test));
        Assert.Equal(nameof(TrainingOptions.Ema), e.Option);
        Assert.StartsWith("--ema is a decay per step", LeNet.Cli.Cli.Message(e));
        Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { Ema = -0.1f }, Train, Test));
    }
}
