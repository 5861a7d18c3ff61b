// What a training run is asked to do (TrainingOptions, with each architecture's defaults), and
// what it reports as it goes and at the end.
using System.Text.Json.Nodes;
using LeNet.Models;

namespace LeNet.Training;

public sealed record TrainingOptions
{
    public ArchitectureSpec Architecture { get; init; } = new(Architectures.LeNet5);
    public int Epochs { get; init; } = 12;
    public int BatchSize { get; init; } = 64;
    public string Optimizer { get; init; } = "adam";
    public float LearningRate { get; init; } = 2e-3f;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.OneCycle;
    public ulong Seed { get; init; } = 1;
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Train on the first N training images only (0 = all).</summary>
    public int Limit { get; init; }
    /// <summary>
    /// Keep the last N training images out of training and evaluate on them instead of the test set
    /// (0 = none): settings are then chosen without looking at the test set.
    /// </summary>
    public int Holdout { get; init; }
    /// <summary>Distort each training image at random every time it is used (see <see cref="Distortion"/>).</summary>
    public bool Augment { get; init; }
    /// <summary>With <see cref="Augment"/>: the strength α of elastic distortions in pixels (0: none; Simard et al. use 34), see <see cref="ElasticField"/>.</summary>
    public float ElasticAlpha { get; init; }
    /// <summary>The smoothness σ of elastic distortions: the width of the Gaussian that smooths the random field (Simard et al.: 4).</summary>
    public float ElasticSigma { get; init; } = ElasticField.DefaultSigma;
    /// <summary>Decoupled weight decay λ (AdamW): every step also takes lr·λ of each weight away. adam only; 0: none.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Label smoothing ε of the softmax cross-entropy while training (0: none); see <see cref="SoftmaxCrossEntropy"/>.</summary>
    public float LabelSmoothing { get; init; }
    /// <summary>
    /// Keep an exponential moving average of the weights with this decay per step (0: none; 0.999
    /// averages about the last thousand steps) and evaluate and save the averaged weights; see <see cref="Trainer"/>.
    /// </summary>
    public float Ema { get; init; }

    /// <summary>The defaults of an architecture: the settings that reach its published accuracy.</summary>
    public static TrainingOptions For(string architecture) => Architectures.Resolve(architecture) switch
    {
        Architectures.CnnBn => new TrainingOptions
        {
            Architecture = Architectures.Default(Architectures.CnnBn), Epochs = 20, BatchSize = 128, LearningRate = 4e-3f, LabelSmoothing = 0.1f,
            Augment = true, ElasticAlpha = 36, ElasticSigma = 6,
        },
        Architectures.LeNet5Classic => new TrainingOptions { Architecture = Architectures.Default(architecture), Epochs = 20, BatchSize = 32, LearningRate = 1e-3f },
        Architectures.CnnWide => new TrainingOptions { Architecture = Architectures.Default(architecture), Epochs = 12, BatchSize = 128, LearningRate = 1e-3f },
        Architectures.CnnDeep => new TrainingOptions { Architecture = Architectures.Default(architecture), Epochs = 20, BatchSize = 128, LearningRate = 2e-3f, LabelSmoothing = 0.1f },
        _ => new TrainingOptions { Architecture = Architectures.Default(architecture) },
    };

    /// <summary>
    /// A short recipe that reaches 99.0% test accuracy with lenet5: 5 epochs of batch 64 at a peak rate
    /// of 0.016 with label smoothing 0.1 (measurements over seeds: docs/training.md).
    /// </summary>
    public static TrainingOptions Fast(string architecture) => architecture == Architectures.LeNet5
        ? For(architecture) with { Epochs = 5, BatchSize = 64, LearningRate = 0.016f, LabelSmoothing = 0.1f }
        : throw new InvalidOptionException(nameof(Fast), $"is a recipe for {Architectures.LeNet5} only (got {architecture})");

    public void Validate()
    {
        if (Epochs < 1) throw new InvalidOptionException(nameof(Epochs), $"must be at least 1 (got {Epochs})");
        if (BatchSize < 1 || BatchSize > 65536) throw new InvalidOptionException(nameof(BatchSize), $"must be between 1 and 65536 (got {BatchSize})");
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) throw new InvalidOptionException(nameof(LearningRate), $"must be a positive number (got {LearningRate})");
        if (Threads < 1 || Threads > 1024) throw new InvalidOptionException(nameof(Threads), $"must be between 1 and 1024 (got {Threads})");
        if (Holdout < 0) throw new InvalidOptionException(nameof(Holdout), $"must not be negative (got {Holdout})");
        if (Limit < 0) throw new InvalidOptionException(nameof(Limit), $"must not be negative (got {Limit})");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1)) throw new InvalidOptionException(nameof(LabelSmoothing), $"must be at least 0 and below 1 (got {LabelSmoothing})");
        if (LabelSmoothing > 0 && Architecture.Name == Architectures.LeNet5Classic)
            throw new InvalidOptionException(nameof(LabelSmoothing), $"applies to softmax outputs (lenet5, cnn-wide); {Architectures.LeNet5Classic} ends in RBF units trained with the paper's criterion");
        if (!(ElasticAlpha >= 0 && ElasticAlpha <= 200)) throw new InvalidOptionException(nameof(ElasticAlpha), $"must be between 0 and 200 pixels (got {ElasticAlpha})");
        if (!(ElasticSigma >= 0.5f && ElasticSigma <= 14)) throw new InvalidOptionException(nameof(ElasticSigma), $"must be between 0.5 and 14 pixels (got {ElasticSigma})");
        if (ElasticAlpha > 0 && !Augment) throw new InvalidOptionException(nameof(ElasticAlpha), "applies to distorted training images: turn distortions on as well");
        if (!(WeightDecay >= 0 && WeightDecay < 1)) throw new InvalidOptionException(nameof(WeightDecay), $"must be at least 0 and below 1 (got {WeightDecay})");
        if (WeightDecay > 0 && Optimizer != "adam") throw new InvalidOptionException(nameof(WeightDecay), $"is decoupled, as in AdamW: it goes with the adam optimizer (got {Optimizer})");
        if (!(Ema >= 0 && Ema < 1)) throw new InvalidOptionException(nameof(Ema), $"is a decay per step, at least 0 and below 1 (got {Ema})");
        if (!Training.Optimizer.Names.Contains(Optimizer)) throw new InvalidOptionException(nameof(Optimizer), $"must be one of {string.Join(", ", Training.Optimizer.Names)} (got '{Optimizer}')");
    }

    public JsonObject ToJson() => new()
    {
        ["architecture"] = Architecture.Name,
        ["epochs"] = Epochs,
        ["batch"] = BatchSize,
        ["optimizer"] = Optimizer,
        ["lr"] = LearningRate,
        ["schedule"] = Training.Schedule.Name(Schedule),
        ["seed"] = Seed,
        ["threads"] = Threads,
        ["limit"] = Limit,
        ["holdout"] = Holdout,
        ["augment"] = Augment,
        ["elasticAlpha"] = ElasticAlpha,
        ["elasticSigma"] = ElasticSigma,
        ["labelSmoothing"] = LabelSmoothing,
        ["weightDecay"] = WeightDecay,
        ["ema"] = Ema,
    };

    public static TrainingOptions FromJson(JsonObject o, ArchitectureSpec spec) => new()
    {
        Architecture = spec,
        Epochs = (int)o["epochs"]!,
        BatchSize = (int)o["batch"]!,
        Optimizer = (string)o["optimizer"]!,
        LearningRate = (float)o["lr"]!,
        Schedule = Training.Schedule.Parse((string)o["schedule"]!),
        Seed = (ulong)o["seed"]!,
        Threads = (int)o["threads"]!,
        Limit = (int)o["limit"]!,
        Holdout = (int?)o["holdout"] ?? 0,
        Augment = (bool?)o["augment"] ?? false,
        ElasticAlpha = (float?)o["elasticAlpha"] ?? 0,
        ElasticSigma = (float?)o["elasticSigma"] ?? ElasticField.DefaultSigma,
        LabelSmoothing = (float?)o["labelSmoothing"] ?? 0,
        WeightDecay = (float?)o["weightDecay"] ?? 0,
        Ema = (float?)o["ema"] ?? 0,
    };
}

/// <summary>Progress within an epoch (running averages over the epoch so far).</summary>
public readonly record struct StepProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double Accuracy,
    double ImagesPerSecond, float LearningRate);

/// <summary>One finished epoch.</summary>
public sealed record EpochResult(int Epoch, long Step, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy,
    float LearningRate, double Seconds, double EpochSeconds);

public sealed class TrainingResult
{
    public required Network Network { get; init; }
    public required IReadOnlyList<EpochResult> History { get; init; }
    /// <summary>True when cancellation stopped training early (a checkpoint was written).</summary>
    public bool Interrupted { get; init; }
    /// <summary>The test set's evaluation after the last epoch this run trained (null if it trained none).</summary>
    public EvaluationResult? FinalEvaluation { get; init; }
    /// <summary>
    /// With a weight average (<see cref="TrainingOptions.Ema"/>): the last weights themselves, evaluated
    /// on the same images at the end, to show what the average changed (null otherwise).
    /// </summary>
    public EvaluationResult? LastWeightsEvaluation { get; init; }
}
