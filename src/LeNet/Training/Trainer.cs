// The epoch loop: shuffle every epoch from (seed, epoch), run the steps (TrainingStep), test after each
// epoch, write the model, the checkpoint (Checkpoint) and the metrics log (MetricsLog), and stop
// cleanly on cancellation (with a checkpoint mid-epoch) or on a loss that is not finite. With a weight
// average (TrainingOptions.Ema) the average is what is tested and saved; training itself never sees it.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Kernels;
using LeNet.Models;

namespace LeNet.Training;

public sealed class Trainer
{
    /// <summary>A log row every this many steps (fewer on small runs: at least 10 rows an epoch).</summary>
    public const int LogEvery = 100;

    readonly TrainingOptions _o;
    readonly MnistDataset _train, _test;
    readonly Network _net;
    readonly Optimizer _opt;
    readonly Loss _loss;   // the network's criterion, with label smoothing when asked for
    readonly float[]? _average;  // the exponential moving average of the parameters (TrainingOptions.Ema), or null
    readonly List<EpochResult> _history = new();
    int _epoch;             // completed epochs
    int _stepInEpoch;       // completed steps of the current epoch
    double _lossSum, _elapsedBefore;
    long _correct, _seen;

    public Trainer(TrainingOptions options, MnistDataset train, MnistDataset test)
    {
        options.Validate();
        _o = options;
        if (options.Holdout > 0 && options.Holdout >= train.Count)
            throw new InvalidOptionException(nameof(options.Holdout), $"must leave training images ({options.Holdout:N0} held out of {train.Count:N0})");
        _train = train.Take(train.Count - options.Holdout).Take(options.Limit);
        _test = options.Holdout > 0 ? train.Skip(train.Count - options.Holdout) : test;
        if (_train.Count == 0) throw new LeNetException("The training set is empty.");
        if (test.Count == 0) throw new LeNetException("The test set is empty: a run reports its test accuracy after every epoch.");
        _net = Architectures.Build(options.Architecture);
        _net.Initialize(options.Seed);
        _opt = Optimizer.Create(options.Optimizer, _net.Parameters.Length, options.WeightDecay);
        _loss = options.LabelSmoothing > 0 && _net.Loss is SoftmaxCrossEntropy ? new SoftmaxCrossEntropy(options.LabelSmoothing) : _net.Loss;
        if (options.Ema > 0) _average = (float[])_net.Parameters.Clone();
    }

    /// <summary>Continues the run saved in a checkpoint exactly where it stopped.</summary>
    public static Trainer Resume(string checkpointPath, MnistDataset train, MnistDataset test, int? threads = null)
    {
        var (options, contents, state) = Checkpoint.Read(checkpointPath);
        string name = Path.GetFileName(checkpointPath);
        if (threads is { } t) options = options with { Threads = t };
        var trainer = new Trainer(options, train, test);
        if (state.StepInEpoch >= trainer.StepsPerEpoch)
            throw new InvalidModelFileException($"{name}: step {state.StepInEpoch} is past the end of an epoch of {trainer.StepsPerEpoch} steps.");
        ModelFile.ToNetwork(contents, name).Parameters.CopyTo(trainer._net.Parameters, 0);
        foreach (var (key, values) in trainer._opt.State)
        {
            var saved = contents.Sections.GetValueOrDefault("optimizer/" + key);
            if (saved is null || saved.Length != values.Length) throw new InvalidModelFileException($"{name} lacks the optimizer state '{key}'.");
            saved.CopyTo(values, 0);
        }
        if (trainer._average is not null)
        {
            var saved = contents.Sections.GetValueOrDefault(AverageSection);
            if (saved is null || saved.Length != trainer._average.Length) throw new InvalidModelFileException($"{name} lacks the weight average '{AverageSection}'.");
            saved.CopyTo(trainer._average, 0);
        }
        trainer._opt.Steps = state.OptimizerSteps;
        trainer._epoch = state.Epoch;
        trainer._stepInEpoch = state.StepInEpoch;
        trainer._lossSum = state.LossSum;
        trainer._correct = state.Correct;
        trainer._seen = state.Seen;
        trainer._elapsedBefore = state.Seconds;
        trainer._history.AddRange(state.History);
        return trainer;
    }

    public TrainingOptions Options => _o;
    public Network Network => _net;
    public int CompletedEpochs => _epoch;
    public int StepsPerEpoch => (_train.Count + _o.BatchSize - 1) / _o.BatchSize;
    public int TrainCount => _train.Count;

    /// <summary>Where the model goes after each epoch (null: not written).</summary>
    public string? ModelPath { get; set; }
    /// <summary>Where the checkpoint goes after each epoch and on cancellation (null: not written).</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>CSV metrics log (<see cref="MetricsLog"/>), appended to.</summary>
    public string? LogPath { get; set; }
    /// <summary>Called on the training thread after every step (keep it quick).</summary>
    public Action<StepProgress>? StepCompleted { get; set; }
    /// <summary>Called on the training thread after every epoch, once the model and checkpoint are written.</summary>
    public Action<EpochResult>? EpochCompleted { get; set; }
    /// <summary>Told of every step, as <see cref="StepCompleted"/>, the .NET way: a <see cref="Progress{T}"/> created on a UI thread reports there.</summary>
    public IProgress<StepProgress>? Progress { get; set; }
    /// <summary>Told of every finished epoch, as <see cref="EpochCompleted"/>.</summary>
    public IProgress<EpochResult>? EpochProgress { get; set; }

    public TrainingResult Run(CancellationToken cancel = default)
    {
        int batch = _o.BatchSize, steps = StepsPerEpoch;
        long totalSteps = (long)steps * _o.Epochs;
        using var step = new TrainingStep(_net, _opt, _loss, _train, _o.Threads, batch, _o.Augment, _o.Seed, _o.ElasticAlpha, _o.ElasticSigma);
        // Every 100 steps, and at least 10 rows an epoch on small runs (so a warm-up shows in the log).
        int logEvery = Math.Clamp(steps / 10, 1, LogEvery);
        var order = new int[_train.Count];
        var clock = Stopwatch.StartNew();
        EvaluationResult? lastTest = null;
        Network? lastTested = null;   // the network the last epoch tested (the average, when kept)
        if (LogPath is not null) MetricsLog.Begin(LogPath);

        for (; _epoch < _o.Epochs; _epoch++)
        {
            for (int i = 0; i < order.Length; i++) order[i] = i;
            Rng.For(_o.Seed, 1, (ulong)_epoch).Shuffle(order);
            var epochClock = Stopwatch.StartNew();
            long seenAtStart = _seen;
            float lr = _o.LearningRate;
            for (; _stepInEpoch < steps; _stepInEpoch++)
            {
                if (cancel.IsCancellationRequested)
                {
                    UpdateStatistics();
                    SaveCheckpoint(clock.Elapsed.TotalSeconds);
                    return new TrainingResult { Network = Averaged() ?? _net, History = _history, Interrupted = true };
                }
                int start = _stepInEpoch * batch, n = Math.Min(batch, _train.Count - start);
                long globalStep = (long)_epoch * steps + _stepInEpoch;
                lr = Schedule.Rate(_o.Schedule, _o.LearningRate, globalStep, totalSteps);
                var outcome = step.Run(order, start, n, lr, _epoch);
                if (outcome.Diverged is { } what) throw Diverged(what, globalStep);
                if (_average is not null) Updates.Average(_average, _net.Parameters, AverageDecay(_o.Ema, _opt.Steps));
                _lossSum += outcome.Loss;
                _correct += outcome.Correct;
                _seen += n;
                bool logRow = LogPath is not null && (_stepInEpoch + 1) % logEvery == 0 && _stepInEpoch + 1 < steps;
                if (StepCompleted is not null || Progress is not null || logRow)
                {
                    double ips = (_seen - seenAtStart) / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                    var progress = new StepProgress(_epoch + 1, _o.Epochs, _stepInEpoch + 1, steps, _lossSum / _seen, (double)_correct / _seen, ips, lr);
                    StepCompleted?.Invoke(progress);
                    Progress?.Report(progress);
                    if (logRow)
                        MetricsLog.Append(LogPath!, new MetricsRow(_epoch + 1, globalStep + 1, progress.Loss, progress.Accuracy, null, null, lr, _elapsedBefore + clock.Elapsed.TotalSeconds));
                }
            }

            double epochSeconds = epochClock.Elapsed.TotalSeconds;
            Network tested = lastTested = Averaged() ?? _net;
            if (tested == _net) UpdateStatistics();
            var test = lastTest = Evaluator.Evaluate(tested, _test, _o.Threads);
            var result = new EpochResult(_epoch + 1, (long)(_epoch + 1) * steps, _lossSum / Math.Max(1, _seen), (double)_correct / Math.Max(1, _seen),
                test.Loss, test.Accuracy, lr, _elapsedBefore + clock.Elapsed.TotalSeconds, epochSeconds);
            _history.Add(result);
            _stepInEpoch = 0; _lossSum = 0; _correct = 0; _seen = 0;
            if (LogPath is not null)
                MetricsLog.Append(LogPath, new MetricsRow(result.Epoch, result.Step, result.TrainLoss, result.TrainAccuracy, result.TestLoss, result.TestAccuracy, lr, result.Seconds));
            // The checkpoint first: killed between the two writes, the run still resumes from it (and writes the model again).
            _epoch++;
            SaveCheckpoint(clock.Elapsed.TotalSeconds);
            _epoch--;
            if (ModelPath is not null) ModelFile.Save(ModelPath, tested, Metadata());
            EpochCompleted?.Invoke(result);
            EpochProgress?.Report(result);
        }
        EvaluationResult? lastWeights = null;
        if (_average is not null && lastTest is not null)
        {
            UpdateStatistics();
            lastWeights = Evaluator.Evaluate(_net, _test, _o.Threads);
        }
        // The average's statistics were computed when the last epoch tested it; a run with no epoch left forms it now.
        return new TrainingResult { Network = lastTested ?? Averaged() ?? _net, History = _history, FinalEvaluation = lastTest, LastWeightsEvaluation = lastWeights };
    }

    /// <summary>The checkpoint section that holds the weight average.</summary>
    public const string AverageSection = "average";

    /// <summary>
    /// The average's decay after t steps: min(d, (1 + t)/(10 + t)), so that early on, when the
    /// average would still be mostly the random initial weights, it follows the weights closely.
    /// </summary>
    public static float AverageDecay(float decay, long steps) => Math.Min(decay, (1f + steps) / (10f + steps));

    /// <summary>A network holding the weight average, its statistics computed for it; null without an average.</summary>
    public Network? Averaged()
    {
        if (_average is null) return null;
        var copy = _net.Clone();
        _average.CopyTo(copy.Parameters, 0);
        copy.ParametersChanged();
        UpdateStatistics(copy);
        return copy;
    }

    /// <summary>Training images batch normalisation's saved statistics are computed from after each epoch.</summary>
    public const int StatisticsImages = 5120;

    /// <summary>
    /// Sets batch normalisation's saved statistics (of the training network, or of a copy of it) from
    /// the first training images as the network now sees them; a no-op without batch normalisation.
    /// </summary>
    public void UpdateStatistics(Network? network = null, int images = StatisticsImages)
    {
        network ??= _net;
        if (!network.HasStatistics) return;
        int count = Math.Clamp(images, 1, _train.Count);
        network.RecomputeStatistics(_train.Images.AsSpan(0, count * MnistDataset.Pixels), count, TrainingStep.GhostBatch, _o.Threads);
    }

    /// <summary>
    /// A copy of the network as it is now (its weight average, when kept), its statistics computed for
    /// those weights.
    /// </summary>
    public Network Snapshot()
    {
        if (Averaged() is { } averaged) return averaged;
        var copy = _net.Clone();
        UpdateStatistics(copy);
        return copy;
    }

    TrainingDivergedException Diverged(string what, long step)
    {
        string kept = _epoch == 0 || ModelPath is null
            ? "No model was saved: it diverged before the first epoch ended."
            : $"The last good model (after epoch {_epoch}) is kept in {ModelPath}.";
        float suggested = _o.LearningRate / 10;
        return new TrainingDivergedException(
            $"Training diverged in epoch {_epoch + 1} at step {step + 1}: {what}. " +
            $"The learning rate {_o.LearningRate.ToString(CultureInfo.InvariantCulture)} is too high for this run; try a learning rate of {suggested.ToString("G3", CultureInfo.InvariantCulture)}. {kept}",
            suggested);
    }

    JsonObject Metadata()
    {
        var last = _history.Count > 0 ? _history[^1] : null;
        return new JsonObject
        {
            ["options"] = _o.ToJson(),
            ["epochs"] = _history.Count,
            ["testAccuracy"] = last?.TestAccuracy,
            ["testLoss"] = last?.TestLoss,
            ["trainImages"] = _train.Count,
            ["seconds"] = last?.Seconds,
            ["created"] = DateTimeOffset.UtcNow.ToString("o"),
        };
    }

    void SaveCheckpoint(double secondsThisRun)
    {
        if (CheckpointPath is null) return;
        Checkpoint.Save(CheckpointPath, _net, _opt, Metadata(), _average is null ? null : new() { [AverageSection] = _average },
            new TrainingState(_epoch, _stepInEpoch, _opt.Steps, _lossSum, _correct, _seen, _elapsedBefore + secondsThisRun, _history));
    }
}
