// After warm-up a training step allocates nothing: buffers are made once per run, the workers are a
// fixed pool, and the step's work is a cached delegate. Measured process-wide (so the worker threads
// count too), so this class runs alone. The process also holds the test runner and the runtime's own
// background threads, which allocate now and then; the step is judged by its cleanest window of
// steps, since an allocation inside the step would show in every window.
using LeNet.Data;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection { public const string Name = "allocation"; }

[Collection(AllocationCollection.Name)]
public sealed class AllocationTests
{
    [Theory]
    [InlineData(Architectures.LeNet5, "adam", 1, false)]
    [InlineData(Architectures.LeNet5, "sgd", 2, false)]
    [InlineData(Architectures.LeNet5Classic, "adam", 2, true)]
    public void A_training_step_allocates_nothing_after_warm_up(string arch, string optimizer, int threads, bool augment)
    {
        var train = MnistDataset.Load(TestPaths.SmallMnist, train: true);
        var test = MnistDataset.Load(TestPaths.SmallMnist, train: false).Take(10);
        const int batch = 16, warmup = 20, window = 10, windows = 6, epochs = 3;
        var options = TrainingOptions.For(arch) with { Epochs = epochs, BatchSize = batch, Limit = batch * (warmup + window * windows + 5), Threads = threads, Optimizer = optimizer, Augment = augment };
        var marks = new long[windows + 1];
        var trainer = new Trainer(options, train, test)
        {
            StepCompleted = p =>
            {
                int k = p.Step - warmup;
                if (p.Epoch == epochs && k >= 0 && k % window == 0 && k / window <= windows)
                    marks[k / window] = GC.GetTotalAllocatedBytes(precise: true);
            },
        };
        trainer.Run();
        Assert.All(marks, m => Assert.True(m > 0));
        var perStep = Enumerable.Range(0, windows).Select(w => (marks[w + 1] - marks[w]) / (double)window).ToArray();
        Assert.True(perStep.Min() < 8, $"bytes allocated per training step, per window of {window} steps: {string.Join(", ", perStep.Select(b => b.ToString("F0")))}");
    }
}
