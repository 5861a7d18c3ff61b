// After warm-up a training step allocates nothing: buffers are made once per run, the workers are a
// fixed pool, and the step's work is a cached delegate. Measured process-wide, so this class runs
// alone, and measures in the last of three epochs (the first runs while the JIT is still tiering up).
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
        const int batch = 16, warmup = 20, measured = 60;
        var options = TrainingOptions.For(arch) with { Epochs = 3, BatchSize = batch, Limit = batch * (warmup + measured + 5), Threads = threads, Optimizer = optimizer, Augment = augment };
        long before = 0, after = 0;
        var trainer = new Trainer(options, train, test)
        {
            StepCompleted = p =>
            {
                if (p.Step == warmup) before = GC.GetTotalAllocatedBytes(precise: true);
                if (p.Step == warmup + measured) after = GC.GetTotalAllocatedBytes(precise: true);
            },
        };
        trainer.Run();
        Assert.True(after > 0);
        double perStep = (after - before) / (double)measured;
        Assert.True(perStep < 64, $"{perStep:F0} bytes allocated per training step");
    }
}
