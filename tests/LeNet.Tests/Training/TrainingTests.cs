using LeNet.Data;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

public class TrainingTests
{
    static readonly MnistDataset Train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
    static readonly MnistDataset Test = MnistDataset.Load(TestPaths.SmallMnist, train: false);

    static TrainingOptions Quick(int epochs = 1, int limit = 1000, int threads = 2) => TrainingOptions.For(Architectures.LeNet5) with
    {
        Epochs = epochs, Limit = limit, Threads = threads, BatchSize = 32,
    };

    [Fact]
    public void A_small_training_run_learns_far_above_chance()
    {
        var result = new Trainer(Quick(epochs: 3, limit: 3000), Train, Test).Run();
        Assert.Equal(3, result.History.Count);
        Assert.True(result.History[^1].TestAccuracy > 0.90, $"test accuracy {result.History[^1].TestAccuracy:P1}");
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss);
    }

    /// <summary>An IProgress that records synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class Recorder<T> : IProgress<T>
    {
        public List<T> Seen { get; } = [];
        public void Report(T value) => Seen.Add(value);
    }

    [Fact]
    public void Progress_is_reported_for_every_step_and_epoch_and_the_final_evaluation_is_kept()
    {
        var steps = new Recorder<StepProgress>();
        var epochs = new Recorder<EpochResult>();
        var trainer = new Trainer(Quick(epochs: 2, limit: 320), Train, Test) { Progress = steps, EpochProgress = epochs };
        var result = trainer.Run();
        Assert.Equal(2 * 10, steps.Seen.Count);
        Assert.Equal([1, 2], epochs.Seen.Select(e => e.Epoch));
        Assert.Equal(10, steps.Seen[^1].Step);
        Assert.NotNull(result.FinalEvaluation);
        Assert.Equal(result.History[^1].TestAccuracy, result.FinalEvaluation!.Accuracy);
    }

    [Theory]
    [InlineData("sgd", 0.05f)]
    [InlineData("rmsprop", 0.001f)]
    public void Every_optimizer_learns(string optimizer, float lr)
    {
        var result = new Trainer(Quick(epochs: 2) with { Optimizer = optimizer, LearningRate = lr, Schedule = ScheduleKind.Step }, Train, Test).Run();
        Assert.True(result.History[^1].TestAccuracy > 0.6, $"{optimizer}: {result.History[^1].TestAccuracy:P1}");
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed_whatever_the_thread_count()
    {
        // Batch 64 is four tasks of 16 that the workers claim in any order; the last batch (300 = 4 × 64 + 44) is three.
        var options = Quick(limit: 300) with { BatchSize = 64 };
        var a = new Trainer(options, Train, Test).Run().Network.Parameters;
        var b = new Trainer(options, Train, Test).Run().Network.Parameters;
        Assert.Equal(a, b);
        Assert.Equal(a, new Trainer(options with { Threads = 1 }, Train, Test).Run().Network.Parameters);
        Assert.Equal(a, new Trainer(options with { Threads = 3 }, Train, Test).Run().Network.Parameters);
        var c = new Trainer(options with { Seed = 2 }, Train, Test).Run().Network.Parameters;
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Interrupted_training_resumes_exactly_where_it_stopped()
    {
        var dir = TestPaths.NewTempDirectory();
        // With label smoothing, which the checkpoint must carry for the resumed steps to be the same.
        var options = Quick(epochs: 2, limit: 640) with { LabelSmoothing = 0.1f };
        var straight = new Trainer(options, Train, Test).Run();

        using var cancel = new CancellationTokenSource();
        var first = new Trainer(options, Train, Test) { CheckpointPath = Path.Combine(dir, "run.ckpt"), ModelPath = Path.Combine(dir, "run.lenet") };
        first.StepCompleted = p => { if (p.Epoch == 2 && p.Step == 7) cancel.Cancel(); };
        var stopped = first.Run(cancel.Token);
        Assert.True(stopped.Interrupted);
        Assert.Single(stopped.History);

        var resumed = Trainer.Resume(Path.Combine(dir, "run.ckpt"), Train, Test).Run();
        Assert.False(resumed.Interrupted);
        Assert.Equal(straight.Network.Parameters, resumed.Network.Parameters);
        Assert.Equal(straight.History[^1].TrainLoss, resumed.History[^1].TrainLoss, 9);
        Assert.Equal(2, resumed.History.Count);
    }

    [Fact]
    public void A_diverging_learning_rate_stops_training_with_advice_and_keeps_the_last_good_model()
    {
        var dir = TestPaths.NewTempDirectory();
        var model = Path.Combine(dir, "m.lenet");
        var trainer = new Trainer(Quick(epochs: 3, limit: 320) with { Optimizer = "sgd", LearningRate = 0.05f, Schedule = ScheduleKind.None }, Train, Test) { ModelPath = model };
        trainer.Run();
        var good = File.ReadAllBytes(model);

        var diverging = new Trainer(Quick(epochs: 2, limit: 320) with { Optimizer = "sgd", LearningRate = 1e4f, Schedule = ScheduleKind.None }, Train, Test) { ModelPath = model };
        var e = Assert.Throws<TrainingDivergedException>(() => diverging.Run());
        Assert.Contains("diverged", e.Message);
        Assert.Contains("try a learning rate of", e.Message);
        Assert.True(e.SuggestedLearningRate > 0);
        Assert.Contains("try --lr", LeNet.Cli.Cli.Message(e));
        Assert.Equal(good, File.ReadAllBytes(model));
    }

    [Fact]
    public void Invalid_options_are_rejected_with_the_option_name()
    {
        // The library names its own option (the property); the tool maps it to its flag.
        var e = Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { BatchSize = 0 }, Train, Test));
        Assert.Equal(nameof(TrainingOptions.BatchSize), e.Option);
        Assert.StartsWith("BatchSize must be between 1 and 65536", e.Message);
        Assert.StartsWith("--batch must be between 1 and 65536", LeNet.Cli.Cli.Message(e));
        Assert.Contains("--lr", LeNet.Cli.Cli.Message(Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { LearningRate = -1 }, Train, Test))));
        Assert.Contains("lion", Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { Optimizer = "lion" }, Train, Test)).Message);
        Assert.Contains("--label-smoothing", LeNet.Cli.Cli.Message(Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { LabelSmoothing = 1.5f }, Train, Test))));
        Assert.Contains("RBF", Assert.Throws<InvalidOptionException>(() => new Trainer(TrainingOptions.For(Architectures.LeNet5Classic) with { LabelSmoothing = 0.1f }, Train, Test)).Message);
        Assert.DoesNotContain("--", Assert.Throws<InvalidOptionException>(() => new Trainer(Quick() with { Threads = 0 }, Train, Test)).Message);
    }

    [Theory]
    [InlineData(-5, 0)]
    [InlineData(99, 0)]
    [InlineData(0, 1_000_000_000)]
    [InlineData(0, -1)]
    public void A_checkpoint_with_an_impossible_place_in_the_run_is_refused(int epoch, int stepInEpoch)
    {
        var options = Quick(epochs: 2, limit: 320);
        var trainer = new Trainer(options, Train, Test);
        var path = Path.Combine(TestPaths.NewTempDirectory(), "bad.ckpt");
        var opt = Optimizer.Create(options.Optimizer, trainer.Network.Parameters.Length);
        Checkpoint.Save(path, trainer.Network, opt, new System.Text.Json.Nodes.JsonObject { ["options"] = options.ToJson() }, null,
            new TrainingState(epoch, stepInEpoch, 0, 0, 0, 0, 0, []));
        var e = Assert.ThrowsAny<LeNetException>(() => Trainer.Resume(path, Train, Test));
        Assert.IsType<InvalidModelFileException>(e);
    }

    [Fact]
    public void A_checkpoint_without_its_training_state_fields_is_refused_by_name()
    {
        var options = Quick(epochs: 1, limit: 320);
        var trainer = new Trainer(options, Train, Test);
        var path = Path.Combine(TestPaths.NewTempDirectory(), "holes.ckpt");
        var meta = new System.Text.Json.Nodes.JsonObject { ["options"] = options.ToJson() };
        Checkpoint.Save(path, trainer.Network, Optimizer.Create(options.Optimizer, trainer.Network.Parameters.Length), meta, null, new TrainingState(0, 0, 0, 0, 0, 0, 0, []));
        // Remove "history" and make "epoch" a string, then write the file again with a valid checksum.
        var c = ModelFile.Read(path);
        var state = (System.Text.Json.Nodes.JsonObject)c.Metadata["checkpoint"]!;
        state.Remove("history");
        state["epoch"] = "three";
        ModelFile.Write(path, c);
        var e = Assert.Throws<InvalidModelFileException>(() => Trainer.Resume(path, Train, Test));
        Assert.Contains("training state is damaged", e.Message);
    }

    [Fact]
    public void Saving_removes_temp_files_that_a_killed_writer_left()
    {
        var dir = TestPaths.NewTempDirectory();
        var path = Path.Combine(dir, "m.lenet");
        var stale = Path.Combine(dir, ".m.lenet.999999999.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllText(stale, "half a model");
        ModelFile.Save(path, new Trainer(Quick(), Train, Test).Network);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void An_empty_test_set_is_refused_rather_than_scored_zero()
    {
        var empty = new LeNet.Data.MnistDataset([], [], "empty");
        Assert.Contains("test set is empty", Assert.Throws<LeNetException>(() => new Trainer(Quick(), Train, empty)).Message);
        Assert.Contains("test set is empty", Assert.Throws<LeNetException>(() => Evaluator.Evaluate(Architectures.Build(Architectures.Default(Architectures.LeNet5)), empty)).Message);
    }

    [Fact]
    public void Metrics_log_has_a_header_and_a_row_per_epoch()
    {
        var log = Path.Combine(TestPaths.NewTempDirectory(), "run.csv");
        new Trainer(Quick(epochs: 2, limit: 320), Train, Test) { LogPath = log }.Run();
        var lines = File.ReadAllLines(log);
        Assert.Equal("epoch,step,train_loss,train_acc,test_loss,test_acc,lr,seconds", lines[0]);
        Assert.Equal(2, lines.Skip(1).Count(l => l.Split(',')[4] != ""));
    }

    [Fact]
    public void Evaluation_confusion_matrix_sums_to_the_test_count()
    {
        var net = ModelFile.Load(TestPaths.PretrainedModel);
        var r = Evaluator.Evaluate(net, Test);
        Assert.Equal(Test.Count, r.Confusion.Sum(row => row.Sum()));
        Assert.True(r.Accuracy > 0.97);
        Assert.Equal(r.Accuracy, r.Confusion.Select((row, i) => row[i]).Sum() / (double)Test.Count, 9);
    }
}
