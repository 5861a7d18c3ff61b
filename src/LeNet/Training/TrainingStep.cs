// One training step, data-parallel over the batch: forward, loss and backward on slices of the batch
// on every worker, then the summed gradient checked and the optimizer's update applied, also on the
// workers. The result does not depend on the number of threads.
//
// A step's batch is cut into tasks that the workers claim in turn, so a core that runs slower (on a
// virtual machine the two vCPUs often do, by up to 2x) does fewer of them instead of holding the step
// up. Each task has its own gradient buffer and loss slot, and they are summed in task order, so a
// step's result does not depend on which worker ran which task. A task goes through the network in
// micro-batches: the activations and gradients of a few samples stay in the core's L2 cache, where a
// whole share (megabytes at batch 64) would stream through memory layer after layer. A network whose
// weights do not fit in L2 (cnn-wide: 6 MB) would instead stream its weights once per micro-batch, so
// it takes one task per thread and runs each whole. A network with batch normalisation normalises
// over what one pass sees, so its tasks are "ghost batches" of at most 32 samples, each one pass,
// whatever the thread count.
using System.Numerics.Tensors;
using LeNet.Data;
using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Models;

namespace LeNet.Training;

/// <summary>What one step did: the summed loss and correct guesses of its samples, or why it stopped.</summary>
public readonly record struct StepOutcome(double Loss, int Correct, string? Diverged);

public sealed class TrainingStep : IDisposable
{
    const int MicroBatch = 16;
    const int MaxTasks = 8;
    const int CacheResidentWeightBytes = 1 << 20;
    /// <summary>The most samples batch normalisation normalises over at once while training.</summary>
    public const int GhostBatch = 32;

    readonly Network _net;
    readonly Optimizer _opt;
    readonly Loss _loss;
    readonly MnistDataset _train;
    readonly bool _augment;
    readonly ulong _seed;
    readonly int _threads;
    readonly bool _cacheResident, _ghost;
    readonly WorkerPool _pool;
    readonly Action<int> _sliceWork, _updateWork;
    readonly Workspace[] _workspaces;
    readonly float[][] _taskGradients;
    readonly byte[][] _labels, _distorted;
    readonly Rng[] _rngs;
    readonly ElasticField[]? _elastic;   // one per worker, when elastic distortions are on
    readonly double[] _losses;
    readonly int[] _corrects;
    readonly bool[] _gradientNotFinite;
    // The current step, read by the workers (fields, so no closure is allocated per step).
    int[] _order = [];
    int _start, _count, _epoch, _taskCount, _nextTask;
    float _scale, _rate;

    public TrainingStep(Network network, Optimizer optimizer, Loss loss, MnistDataset train, int threads, int batchSize, bool augment, ulong seed,
        float elasticAlpha = 0, float elasticSigma = ElasticField.DefaultSigma)
    {
        _net = network; _opt = optimizer; _loss = loss; _train = train; _threads = threads; _augment = augment; _seed = seed;
        _cacheResident = network.Parameters.Length * sizeof(float) <= CacheResidentWeightBytes;
        _ghost = network.HasStatistics;
        int maxTasks = TasksFor(batchSize);
        int perWorker = _ghost ? Math.Min(GhostBatch, batchSize) : _cacheResident ? Math.Min(MicroBatch, batchSize) : (batchSize + maxTasks - 1) / maxTasks;
        _workspaces = Enumerable.Range(0, threads).Select(_ => network.CreateWorkspace(perWorker, parameterGradients: false)).ToArray();
        _taskGradients = Enumerable.Range(0, maxTasks).Select(_ => new float[network.Parameters.Length]).ToArray();
        _labels = Enumerable.Range(0, threads).Select(_ => new byte[perWorker]).ToArray();
        _distorted = Enumerable.Range(0, threads).Select(_ => new byte[MnistDataset.Pixels]).ToArray();
        _elastic = augment && elasticAlpha > 0 ? Enumerable.Range(0, threads).Select(_ => new ElasticField(elasticAlpha, elasticSigma)).ToArray() : null;
        _rngs = Enumerable.Range(0, threads).Select(_ => new Rng(0)).ToArray();
        _losses = new double[maxTasks];
        _corrects = new int[maxTasks];
        _gradientNotFinite = new bool[threads];
        _pool = new WorkerPool(threads);
        _sliceWork = RunSlice;
        _updateWork = UpdateSlice;
    }

    int TasksFor(int n) => _ghost ? (n + GhostBatch - 1) / GhostBatch : _cacheResident ? Math.Min(MaxTasks, (n + MicroBatch - 1) / MicroBatch) : Math.Min(_threads, n);

    /// <summary>
    /// Trains on images order[start .. start + n) at learning rate lr (epoch seeds the distortions).
    /// The loss is averaged over the n samples. Nothing is updated when the loss is not finite.
    /// </summary>
    public StepOutcome Run(int[] order, int start, int n, float lr, int epoch)
    {
        _order = order; _start = start; _count = n; _epoch = epoch; _scale = 1f / n;
        _taskCount = TasksFor(n); _nextTask = 0;
        _pool.Run(_sliceWork);
        double loss = 0;
        int correct = 0;
        for (int t = 0; t < _taskCount; t++)
        {
            loss += _losses[t];
            correct += _corrects[t];
        }
        if (!double.IsFinite(loss)) return new(loss, correct, double.IsNaN(loss) ? "the loss became NaN" : "the loss became infinite");
        _rate = lr;
        _opt.BeginStep();
        _pool.Run(_updateWork);
        return new(loss, correct, Array.IndexOf(_gradientNotFinite, true) >= 0 ? "a gradient became NaN or infinite" : null);
    }

    /// <summary>Worker w's part of the step: it claims tasks (slices of the batch) until none are left, and runs forward, loss and backward on each into the task's own gradients.</summary>
    void RunSlice(int w)
    {
        int n = _count, start = _start, tasks = _taskCount, inputSize = _net.InputSize;
        var ws = _workspaces[w];
        for (int t; (t = Interlocked.Increment(ref _nextTask) - 1) < tasks;)
        {
            int lo = start + (int)((long)t * n / tasks), hi = start + (int)((long)(t + 1) * n / tasks), m = hi - lo;
            var gradients = _taskGradients[t];   // cleared by the last update (or new)
            double loss = 0;
            int corrects = 0;
            for (int s0 = 0; s0 < m; s0 += ws.MaxBatch)
            {
                int count = Math.Min(ws.MaxBatch, m - s0);
                // The micro-batch's images are scattered over the training set (tens of megabytes, mostly
                // out of cache): asking for all their cache lines before reading the first lets the misses overlap.
                for (int s = 0; s < count; s++) Pixels.Prefetch(_train.Image(_order[lo + s0 + s]));
                for (int s = 0; s < count; s++)
                {
                    int idx = _order[lo + s0 + s];
                    var image = _train.Image(idx);
                    if (_augment)
                    {
                        // Seeded by (seed, epoch, image): the same distortion whatever the thread count.
                        _rngs[w].State = Rng.SeedFor(_seed, 2000 + (ulong)_epoch, (ulong)idx);
                        Distortion.Apply(image, _distorted[w], _rngs[w], _elastic?[w]);
                        image = _distorted[w];
                    }
                    _net.Encoding.Encode(image, ws.Input.Slice(s * inputSize, inputSize));
                    _labels[w][s] = _train.Labels[idx];
                }
                // Dropout's masks are seeded by where the pass starts in the epoch's order, not by the thread.
                ws.Mode = new ForwardMode(true, Rng.SeedFor(_seed, 3000 + (ulong)_epoch, (ulong)(lo + s0)));
                _net.Forward(ws, count);
                loss += _loss.Compute(ws.Output, _labels[w], count, ws.OutputGradient, _scale, out int correct);
                corrects += correct;
                _net.Backward(ws, count, gradients);
            }
            _losses[t] = loss;
            _corrects[t] = corrects;
        }
    }

    /// <summary>
    /// Worker w's part of the update: the tasks' gradients summed over its range of the parameters
    /// (in task order, so the sum is the same whatever thread does it), checked, and the optimizer's
    /// update of that range. The optimizer works element by element, so the ranges are independent and
    /// the result is bit-identical to one update of the whole. It goes block by block, each summed,
    /// checked, applied and cleared while it is in L1. Were a gradient not finite in one block, the
    /// blocks before it may already be updated; training stops then anyway. It leaves the tasks'
    /// gradients cleared for the next step.
    /// </summary>
    void UpdateSlice(int w)
    {
        int threads = _workspaces.Length, total = _net.Parameters.Length;
        int lo = w * total / threads & ~15, hi = w == threads - 1 ? total : (w + 1) * total / threads & ~15;
        const int Block = 1024;
        bool notFinite = false;
        for (int b = lo; b < hi; b += Block)
        {
            int len = Math.Min(Block, hi - b);
            var sum = _taskGradients[0].AsSpan(b, len);
            for (int t = 1; t < _taskCount; t++)
            {
                var g = _taskGradients[t].AsSpan(b, len);
                TensorPrimitives.Add(sum, g, sum);
                g.Clear();
            }
            notFinite |= !float.IsFinite(TensorPrimitives.Sum(sum));
            if (!notFinite) _opt.UpdateRange(_net.Parameters.AsSpan(b, len), sum, _rate, b);
            sum.Clear();
        }
        _gradientNotFinite[w] = notFinite;
    }

    public void Dispose() => _pool.Dispose();
}
