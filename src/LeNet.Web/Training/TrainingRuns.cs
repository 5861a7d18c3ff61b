// The server's training runs: who may start one (TrainingLimits), one at a time, the request's
// options checked against the limits, and the last few runs kept so a page can read their events.
using System.Text.Json;
using System.Text.Json.Serialization;
using LeNet.Data;
using LeNet.Models;
using LeNet.Training;

namespace LeNet.Web.Training;

/// <summary>What training from the page may do on this server.</summary>
public sealed record TrainingLimits
{
    /// <summary>Whether POST /api/train is accepted (by default only when the server listens on loopback).</summary>
    public bool Allowed { get; init; }
    public int MaxEpochs { get; init; } = 30;
    public int MaxBatch { get; init; } = 1024;
    /// <summary>A run stops itself (keeping its model) after this long, pauses included.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>A run that no page has watched for this long stops (its page was closed).</summary>
    public TimeSpan Unwatched { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Training threads (default: every core).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The body of POST /api/train: the CLI's option names, all optional (each architecture's defaults otherwise).</summary>
public sealed record TrainRequest
{
    public string? Arch { get; init; }
    public bool? Fast { get; init; }
    public int? Epochs { get; init; }
    public int? Batch { get; init; }
    public string? Optimizer { get; init; }
    public float? Lr { get; init; }
    public string? Schedule { get; init; }
    public ulong? Seed { get; init; }
    public int? Limit { get; init; }
    public bool? Augment { get; init; }
    /// <summary>Elastic distortions as well (implies augment); elasticAlpha and elasticSigma as `lenet train`'s.</summary>
    public bool? Elastic { get; init; }
    public float? ElasticAlpha { get; init; }
    public float? ElasticSigma { get; init; }
    public float? LabelSmoothing { get; init; }
    public float? WeightDecay { get; init; }
    /// <summary>The weight average's decay per step, as `lenet train --ema` (0: none).</summary>
    public float? Ema { get; init; }
    /// <summary>Steps at which a copy of the model joins the model picker (default: step 100, when the run is longer).</summary>
    public long[]? Keep { get; init; }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };
}

/// <summary>A POST /api/train the server refuses: the status says why (400 options, 403 not allowed, 409 busy, 503 no data).</summary>
public sealed class TrainingRefusedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

public sealed class TrainingRuns : IDisposable
{
    const int KeptRuns = 4;
    readonly ModelCatalog _catalog;
    readonly Func<(MnistDataset Train, MnistDataset Test)> _loadData;
    readonly object _lock = new();
    readonly List<TrainingRun> _runs = [];
    readonly Timer _clock;
    (MnistDataset Train, MnistDataset Test)? _data;
    int _count;

    public TrainingRuns(ModelCatalog catalog, TrainingLimits limits, Func<(MnistDataset Train, MnistDataset Test)>? data = null)
    {
        _catalog = catalog;
        Limits = limits;
        _loadData = data ?? (() => (MnistDataset.LoadEmbedded(train: true), MnistDataset.LoadEmbedded(train: false)));
        _clock = new Timer(_ => { foreach (var r in Runs) r.Tick(); }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public TrainingLimits Limits { get; }

    public IReadOnlyList<TrainingRun> Runs { get { lock (_lock) return _runs.ToArray(); } }

    public TrainingRun? Current { get { lock (_lock) return _runs.LastOrDefault(r => !r.Done); } }

    public TrainingRun? Find(string id) { lock (_lock) return _runs.FirstOrDefault(r => r.Id == id); }

    public TrainingRun Start(TrainRequest request)
    {
        if (!Limits.Allowed)
            throw new TrainingRefusedException(403, "Training from the page is off on this server: it listens beyond this machine. Start it with `lenet serve --allow-training` to allow it.");
        var options = Options(request);
        var (train, test) = Data();
        var keep = request.Keep ?? [100];
        foreach (var k in keep)
            if (k < 1) throw new TrainingRefusedException(400, $"keep lists steps (whole numbers from 1); got {k}.");
        if (keep.Length > 8) throw new TrainingRefusedException(400, $"keep takes at most 8 steps (got {keep.Length}).");
        lock (_lock)
        {
            if (_runs.LastOrDefault(r => !r.Done) is { } busy)
                throw new TrainingRefusedException(409, $"A training run ({busy.Id}) is already going; stop it first (POST /api/train/{busy.Id}/stop). One run at a time.");
            _count++;
            string id = $"{_count}-{Guid.NewGuid().ToString("N")[..8]}";
            var run = new TrainingRun(id, $"{options.Architecture.Name}-run{_count}", options, keep, _catalog, Limits, train, test);
            _runs.Add(run);
            if (_runs.Count > KeptRuns) _runs.RemoveAt(0);
            run.Start();
            return run;
        }
    }

    (MnistDataset, MnistDataset) Data()
    {
        lock (_lock)
        {
            if (_data is { } d) return d;
            try
            {
                _data = _loadData();
                return _data.Value;
            }
            catch (LeNetException e)
            {
                throw new TrainingRefusedException(503, $"This server has no MNIST data to train on: {e.Message}");
            }
        }
    }

    TrainingOptions Options(TrainRequest r)
    {
        string arch = Architectures.Resolve(r.Arch ?? Architectures.LeNet5);
        if (!Architectures.Names.Contains(arch))
            throw new TrainingRefusedException(400, $"Unknown architecture '{arch}'. Choose one of: {string.Join(", ", Architectures.Names)}.");
        TrainingOptions o;
        // Elastic distortions: asked for, refused (false), or left to the architecture's recipe (null).
        bool? elastic = r.Elastic ?? (r.ElasticAlpha is not null || r.ElasticSigma is not null ? true : null);
        try
        {
            o = r.Fast == true ? TrainingOptions.Fast(arch) : TrainingOptions.For(arch);
            o = o with
            {
                Epochs = r.Epochs ?? o.Epochs,
                BatchSize = r.Batch ?? o.BatchSize,
                Optimizer = r.Optimizer ?? o.Optimizer,
                LearningRate = r.Lr ?? o.LearningRate,
                Schedule = r.Schedule is null ? o.Schedule : Schedule.Parse(r.Schedule),
                Seed = r.Seed ?? o.Seed,
                Limit = r.Limit ?? 0,
                Augment = (r.Augment ?? o.Augment) || elastic == true,
                ElasticAlpha = elastic == false || !((r.Augment ?? o.Augment) || elastic == true) ? 0
                    : r.ElasticAlpha ?? (o.ElasticAlpha > 0 ? o.ElasticAlpha : elastic == true ? ElasticField.DefaultAlpha : 0),
                ElasticSigma = r.ElasticSigma ?? o.ElasticSigma,
                LabelSmoothing = r.LabelSmoothing ?? o.LabelSmoothing,
                WeightDecay = r.WeightDecay ?? o.WeightDecay,
                Ema = r.Ema ?? o.Ema,
                Threads = Limits.Threads,
            };
            o.Validate();
        }
        catch (InvalidOptionException e)
        {
            string name = e.Option switch
            {
                nameof(TrainingOptions.BatchSize) => "batch",
                nameof(TrainingOptions.LearningRate) => "lr",
                _ => JsonNamingPolicy.CamelCase.ConvertName(e.Option),
            };
            throw new TrainingRefusedException(400, $"{name} {e.Requirement}.");
        }
        catch (LeNetException e)
        {
            throw new TrainingRefusedException(400, e.Message);
        }
        if (o.Epochs > Limits.MaxEpochs) throw new TrainingRefusedException(400, $"epochs must be at most {Limits.MaxEpochs} on this server (got {o.Epochs}).");
        if (o.BatchSize > Limits.MaxBatch) throw new TrainingRefusedException(400, $"batch must be at most {Limits.MaxBatch} on this server (got {o.BatchSize}).");
        return o;
    }

    public void Dispose()
    {
        _clock.Dispose();
        foreach (var r in Runs) r.Stop("the server stopped");
    }
}
