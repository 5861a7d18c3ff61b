// A fixed set of threads that run one piece of work per worker and wait for all of them: the
// training step's data parallelism without Parallel.For's per-call tasks and closures, so a step
// allocates nothing. The calling thread is worker 0.
//
// Each run releases every worker's semaphore once and each worker takes it once per run, so a worker
// runs exactly once per run however the two meet. Workers spin for a short while before they block,
// and so does the caller while it waits for them.
// A training step takes a few milliseconds and the gap between steps (the optimizer update) a few
// tens of microseconds; a worker that blocked in between would have to be woken by the kernel at
// every step, which on a virtual machine with an idle, halted second CPU can cost hundreds of
// microseconds. Spinning is bounded (2 ms), so an idle pool sleeps, and there is none when there are
// more workers than cores (a spinning thread would take a core from a working one).
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace LeNet;

public sealed class WorkerPool : IDisposable
{

    readonly Thread[] _threads;
    readonly SemaphoreSlim[] _start;
    // Workers still running the current work; the one that brings it to zero releases _finished once,
    // and Run takes that release once. (A CountdownEvent reset by the next Run could be set again by
    // the last worker of the run before, which ran Signal's decrement but not yet its Set: that Run
    // then returned early, and the one after it counted below zero.)
    int _remaining;
    readonly SemaphoreSlim _finished = new(0);
    readonly long _spinBudget;
    Action<int>? _work;
    ExceptionDispatchInfo? _error;
    volatile int _generation;
    volatile bool _stopping;

    public WorkerPool(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Workers = workers;
        _spinBudget = workers <= Environment.ProcessorCount ? Stopwatch.Frequency / 500 : 0;
        _start = Enumerable.Range(0, workers).Select(_ => new SemaphoreSlim(0)).ToArray();
        _threads = new Thread[workers - 1];
        for (int i = 1; i < workers; i++)
        {
            int w = i;
            _threads[i - 1] = new Thread(() => Loop(w)) { IsBackground = true, Name = $"LeNet worker {w}" };
            _threads[i - 1].Start();
        }
    }

    public int Workers { get; }

    /// <summary>Runs work(0) … work(Workers − 1) in parallel and returns when all have finished; rethrows the first exception.</summary>
    public void Run(Action<int> work)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        if (Workers == 1) { work(0); return; }
        _work = work;
        _error = null;
        Volatile.Write(ref _remaining, Workers - 1);
        _generation++;
        Wake();
        try { work(0); }
        finally
        {
            long t0 = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _remaining) > 0 && Stopwatch.GetTimestamp() - t0 < _spinBudget) Thread.SpinWait(20);
            _finished.Wait();
        }
        _error?.Throw();
    }

    // One release per worker per run: a worker blocked in Wait wakes; a spinning one finds it waiting.
    void Wake()
    {
        for (int i = 1; i < Workers; i++) _start[i].Release();
    }

    void Loop(int w)
    {
        int seen = 0;
        while (true)
        {
            // Spinning first keeps a worker that is about to be needed off the kernel's wake-up path;
            // the Wait below then finds its release at once.
            long t0 = Stopwatch.GetTimestamp();
            while (_generation == seen && !_stopping && Stopwatch.GetTimestamp() - t0 < _spinBudget) Thread.SpinWait(20);
            _start[w].Wait();
            if (_stopping) return;
            seen = _generation;
            try { _work!(w); }
            catch (Exception e) { _error ??= ExceptionDispatchInfo.Capture(e); }
            finally { if (Interlocked.Decrement(ref _remaining) == 0) _finished.Release(); }
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        Wake();
        foreach (var t in _threads) t.Join();
        foreach (var s in _start) s.Dispose();
        _finished.Dispose();
    }
}
