// One training run started from the page: the library's Trainer on a background thread, its
// progress kept as a list of JSON events (what GET /api/train/{id}/events streams, from the start or
// from Last-Event-ID), pause/resume/stop, copies of the model kept at chosen steps, and the finished
// model added to the catalog. A run stops itself at the server's time limit and when no page has
// watched it for a while.
using System.Diagnostics;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;
using LeNet.Web.Api;

namespace LeNet.Web.Training;

public sealed class TrainingRun
{
    /// <summary>Test digits whose guesses every snapshot shows: the first two of each digit.</summary>
    public const int StripSize = 20;
    // Events at most this often (the last step of an epoch and the end always): a page that draws
    // them must not take the cores the run trains on.
    static readonly TimeSpan StepEventGap = TimeSpan.FromMilliseconds(150), SnapshotGap = TimeSpan.FromMilliseconds(500);

    readonly ModelCatalog _catalog;
    readonly TrainingLimits _limits;
    readonly MnistDataset _train, _test;
    readonly HashSet<long> _keep;
    readonly object _lock = new();
    readonly List<string> _events = [];
    const int FullSnapshotsKept = 40;
    readonly Queue<(int Index, string WithoutKernels)> _fullSnapshots = new();
    TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource _cancel = new();
    readonly ManualResetEventSlim _running = new(true);
    readonly Stopwatch _active = new();          // training time, pauses left out
    readonly Stopwatch _wall = Stopwatch.StartNew();
    readonly Stopwatch _sinceStepEvent = Stopwatch.StartNew(), _sinceSnapshot = Stopwatch.StartNew();
    readonly byte[] _stripImages;
    readonly byte[] _stripLabels;
    readonly int[] _stripGuesses = new int[StripSize];
    readonly float[] _stripProbabilities = new float[StripSize * 10];
    int _watchers;
    volatile bool _everWatched;
    long _unwatchedSince = Stopwatch.GetTimestamp();
    string? _stopReason;
    Trainer? _trainer;
    long _lastStep;
    double _lastLoss = double.NaN, _lastAccuracy = double.NaN;
    int _lastEpoch;

    internal TrainingRun(string id, string modelName, TrainingOptions options, IEnumerable<long> keep, ModelCatalog catalog,
        TrainingLimits limits, MnistDataset train, MnistDataset test)
    {
        Id = id;
        ModelName = modelName;
        Options = options;
        _keep = [.. keep];
        _catalog = catalog;
        _limits = limits;
        _train = train;
        _test = test;
        (_stripImages, _stripLabels) = Strip(test);
    }

    public string Id { get; }
    /// <summary>The name the finished model gets in the catalog (made unique when it is added).</summary>
    public string ModelName { get; }
    public TrainingOptions Options { get; }
    public bool Done { get; private set; }
    public bool Paused => !_running.IsSet;
    /// <summary>The finished model's name in the catalog, once it is there.</summary>
    public string? Model { get; private set; }

    internal void Start() => Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning);

    public void Stop(string reason = "stopped from the page")
    {
        lock (_lock) _stopReason ??= reason;
        _cancel.Cancel();
        _running.Set();
    }

    public void Pause()
    {
        if (Done || _running.IsSet == false) return;
        _running.Reset();
        Emit(Event("paused"));
    }

    public void Resume()
    {
        if (Done || _running.IsSet) return;
        _running.Set();
        Emit(Event("resumed"));
    }

    /// <summary>Pages that may watch one run at once (each holds a connection open).</summary>
    public const int MaxWatchers = 32;

    /// <summary>A page watching the events (null when <see cref="MaxWatchers"/> already do); dispose when it leaves.</summary>
    public IDisposable? Watch()
    {
        if (Interlocked.Increment(ref _watchers) > MaxWatchers)
        {
            Interlocked.Decrement(ref _watchers);
            return null;
        }
        _everWatched = true;
        return new Watcher(this);
    }

    sealed class Watcher(TrainingRun run) : IDisposable
    {
        int _disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            if (Interlocked.Decrement(ref run._watchers) == 0) Interlocked.Exchange(ref run._unwatchedSince, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>The events after index <paramref name="after"/>, waiting up to <paramref name="wait"/> for one if there is none yet.</summary>
    public async Task<(IReadOnlyList<(int Index, string Json)> Events, bool Finished)> EventsAfter(int after, TimeSpan wait, CancellationToken ct)
    {
        Task changed;
        lock (_lock)
        {
            if (_events.Count > after + 1 || Done) return (Slice(after), Done);
            changed = _changed.Task;
        }
        await Task.WhenAny(changed, Task.Delay(wait, ct)).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        lock (_lock) return (Slice(after), Done);
    }

    List<(int, string)> Slice(int after)
    {
        var list = new List<(int, string)>();
        for (int i = Math.Max(0, after + 1); i < _events.Count; i++) list.Add((i, _events[i]));
        return list;
    }

    void Emit(JsonObject e)
    {
        string json = e.ToJsonString();
        // A long run's early snapshots are kept without their kernels (a page that joins late draws the
        // latest kernels): the events of a run stay within a few MB however long it runs.
        string? light = null;
        if (e.ContainsKey("kernels"))
        {
            var copy = (JsonObject)e.DeepClone();
            copy.Remove("kernels");
            light = copy.ToJsonString();
        }
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (light is not null)
            {
                _fullSnapshots.Enqueue((_events.Count, light));
                if (_fullSnapshots.Count > FullSnapshotsKept)
                {
                    var (index, without) = _fullSnapshots.Dequeue();
                    _events[index] = without;
                }
            }
            _events.Add(json);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>Every event carries the step, epoch, loss and accuracy so far (loss and accuracy null before the first step).</summary>
    JsonObject Event(string type)
    {
        lock (_lock)
            return new JsonObject
            {
                ["type"] = type,
                ["step"] = _lastStep,
                ["epoch"] = _lastEpoch,
                ["loss"] = double.IsFinite(_lastLoss) ? _lastLoss : null,
                ["accuracy"] = double.IsFinite(_lastAccuracy) ? _lastAccuracy : null,
            };
    }

    void Run()
    {
        try
        {
            _trainer = new Trainer(Options, _train, _test);
            var trainer = _trainer;
            long stepsPerEpoch = trainer.StepsPerEpoch, total = stepsPerEpoch * Options.Epochs;
            long logEvery = Math.Clamp(stepsPerEpoch / 10, 1, Trainer.LogEvery);
            long snapshotEvery = Math.Clamp(total / 40, 10, 200);
            var start = Event("start");
            start["options"] = Options.ToJson();
            start["model"] = ModelName;
            start["trainImages"] = trainer.TrainCount;
            start["stepsPerEpoch"] = stepsPerEpoch;
            start["totalSteps"] = total;
            start["snapshotEvery"] = snapshotEvery;
            start["strip"] = new JsonObject
            {
                ["labels"] = new JsonArray(_stripLabels.Select(l => (JsonNode)(int)l).ToArray()),
                ["images"] = Convert.ToBase64String(_stripImages),
            };
            Emit(start);
            Emit(Snapshot(trainer.Network));
            _active.Start();

            trainer.StepCompleted = p =>
            {
                long step = (p.Epoch - 1) * stepsPerEpoch + p.Step;
                lock (_lock) { _lastStep = step; _lastEpoch = p.Epoch; _lastLoss = p.Loss; _lastAccuracy = p.Accuracy; }
                if ((step % logEvery == 0 && _sinceStepEvent.Elapsed >= StepEventGap) || p.Step == p.StepsPerEpoch)
                {
                    _sinceStepEvent.Restart();
                    var e = Event("step");
                    double seconds = _active.Elapsed.TotalSeconds;
                    e["epochs"] = p.Epochs;
                    e["stepInEpoch"] = p.Step;
                    e["lr"] = p.LearningRate;
                    e["imagesPerSecond"] = Math.Round(step * (double)trainer.TrainCount / stepsPerEpoch / Math.Max(1e-9, seconds));
                    e["seconds"] = Math.Round(seconds, 2);
                    e["etaSeconds"] = Math.Round(seconds / step * (total - step), 1);
                    Emit(e);
                }
                if (step % snapshotEvery == 0 && _sinceSnapshot.Elapsed >= SnapshotGap)
                {
                    // Batch normalisation's statistics are set at the end of each epoch: a quick estimate for the current weights.
                    trainer.UpdateStatistics(images: 256);
                    Emit(Snapshot(trainer.Network));
                }
                if (_keep.Contains(step)) Keep(trainer.Snapshot(), $"{ModelName}-step{step}", step);
                CheckLimits();
                if (!_running.IsSet)
                {
                    _active.Stop();
                    try { _running.Wait(_cancel.Token); } catch (OperationCanceledException) { }
                    _active.Start();
                }
            };
            trainer.EpochCompleted = r =>
            {
                var e = Event("epoch");
                e["epochs"] = Options.Epochs;
                e["trainLoss"] = r.TrainLoss;
                e["trainAccuracy"] = r.TrainAccuracy;
                e["testLoss"] = r.TestLoss;
                e["testAccuracy"] = r.TestAccuracy;
                e["lr"] = r.LearningRate;
                e["seconds"] = Math.Round(_active.Elapsed.TotalSeconds, 2);
                Emit(e);
                // Every epoch but the last ends with a snapshot too (the run's end sends the last), so a
                // short run still shows its maps change, whatever the time gap.
                if (r.Epoch < Options.Epochs) Emit(Snapshot(trainer.Network));
            };

            var result = trainer.Run(_cancel.Token);
            _active.Stop();
            Emit(Snapshot(result.Network));
            var test = result.FinalEvaluation ?? Evaluator.Evaluate(result.Network, _test, Options.Threads);
            var metadata = new JsonObject
            {
                ["options"] = Options.ToJson(),
                ["epochs"] = result.History.Count,
                ["steps"] = _lastStep,
                ["testAccuracy"] = test.Accuracy,
                ["testLoss"] = test.Loss,
                ["trainImages"] = trainer.TrainCount,
                ["seconds"] = Math.Round(_active.Elapsed.TotalSeconds, 2),
                ["created"] = DateTimeOffset.UtcNow.ToString("o"),
                ["trainedFrom"] = "the web app",
            };
            var served = _catalog.AddTrained(ModelName, result.Network, metadata);
            Model = served.Name;
            var done = Event("done");
            done["done"] = true;
            done["model"] = served.Name;
            done["stopped"] = result.Interrupted;
            string? reason;
            lock (_lock) reason = _stopReason;
            if (result.Interrupted) done["reason"] = reason;
            done["testAccuracy"] = test.Accuracy;
            done["testLoss"] = test.Loss;
            done["seconds"] = Math.Round(_active.Elapsed.TotalSeconds, 2);
            done["imagesPerSecond"] = Math.Round(_lastStep * (double)trainer.TrainCount / stepsPerEpoch / Math.Max(1e-9, _active.Elapsed.TotalSeconds));
            Finish(done);
        }
        catch (Exception ex) when (ex is LeNetException)
        {
            var e = Event("error");
            e["done"] = true;
            e["error"] = ex.Message;
            Finish(e);
        }
        catch (Exception ex)
        {
            var e = Event("error");
            e["done"] = true;
            e["error"] = $"Training failed: {ex.GetType().Name}: {ex.Message}";
            Finish(e);
        }
    }

    void Finish(JsonObject last)
    {
        Emit(last);
        TaskCompletionSource changed;
        lock (_lock)
        {
            Done = true;
            changed = _changed;
        }
        changed.TrySetResult();
        _trainer = null;
    }

    void CheckLimits()
    {
        if (_wall.Elapsed > _limits.MaxDuration)
            Stop($"it reached the server's limit of {_limits.MaxDuration.TotalMinutes:0.#} minutes");
        else if (Volatile.Read(ref _watchers) == 0)
        {
            // A run nobody has come to watch at all (a stray POST) gets a third of the time.
            var limit = _everWatched ? _limits.Unwatched : _limits.Unwatched / 3;
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _unwatchedSince)) > limit)
                Stop($"no page watched it for {limit.TotalSeconds:0} seconds");
        }
    }

    /// <summary>Called by the server's clock while a run is paused (no steps run then).</summary>
    internal void Tick()
    {
        if (!Done && !_running.IsSet) CheckLimits();
    }

    void Keep(Network copy, string name, long step)
    {
        var test = Evaluator.Evaluate(copy, _test, Options.Threads);
        var metadata = new JsonObject
        {
            ["options"] = Options.ToJson(),
            ["steps"] = step,
            ["testAccuracy"] = test.Accuracy,
            ["testLoss"] = test.Loss,
            ["trainedFrom"] = "the web app",
        };
        var served = _catalog.AddTrained(name, copy, metadata);
        var e = Event("kept");
        e["model"] = served.Name;
        e["testAccuracy"] = test.Accuracy;
        Emit(e);
    }

    /// <summary>The first two convolutions' kernels and the network's guesses on the strip of test digits.</summary>
    JsonObject Snapshot(Network network)
    {
        network.Predict(_stripImages, StripSize, _stripProbabilities, threads: 1);
        for (int i = 0; i < StripSize; i++)
        {
            _stripGuesses[i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(_stripProbabilities.AsSpan(i * 10, 10));
        }
        _sinceSnapshot.Restart();
        var e = Event("snapshot");
        e["guesses"] = new JsonArray(_stripGuesses.Select(g => (JsonNode)g).ToArray());
        e["right"] = _stripGuesses.Where((g, i) => g == _stripLabels[i]).Count();
        e["kernels"] = new JsonArray(network.Layers.OfType<Conv2d>().Take(2)
            .Select(c => System.Text.Json.JsonSerializer.SerializeToNode(ModelsApi.Kernels(network, c), System.Text.Json.JsonSerializerOptions.Web)).ToArray());
        return e;
    }

    static (byte[] Images, byte[] Labels) Strip(MnistDataset test)
    {
        var picked = new List<int>();
        for (int d = 0; d < 10; d++)
            picked.AddRange(Enumerable.Range(0, test.Count).Where(i => test.Labels[i] == d).Take(StripSize / 10));
        for (int i = 0; picked.Count < StripSize && i < test.Count; i++) if (!picked.Contains(i)) picked.Add(i);
        picked = picked.Take(StripSize).ToList();
        var images = new byte[StripSize * MnistDataset.Pixels];
        var labels = new byte[StripSize];
        for (int k = 0; k < picked.Count; k++)
        {
            test.Image(picked[k]).CopyTo(images.AsSpan(k * MnistDataset.Pixels));
            labels[k] = test.Labels[picked[k]];
        }
        return (images, labels);
    }
}
