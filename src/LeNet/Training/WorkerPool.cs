// A fixed set of threads that run one piece of work per worker and wait for all of them: the
// training step's data parallelism without Parallel.For's per-call tasks and closures, so a step
// allocates nothing. The calling thread is worker 0.
using System.Runtime.ExceptionServices;

namespace LeNet.Training;

public sealed class WorkerPool : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim[] _start;
    readonly CountdownEvent _done;
    Action<int>? _work;
    ExceptionDispatchInfo? _error;
    volatile bool _stopping;

    public WorkerPool(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Workers = workers;
        _start = Enumerable.Range(0, workers).Select(_ => new SemaphoreSlim(0)).ToArray();
        _done = new CountdownEvent(1);
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
        _done.Reset(Workers - 1);
        for (int i = 1; i < Workers; i++) _start[i].Release();
        try { work(0); }
        finally { _done.Wait(); }
        _error?.Throw();
    }

    void Loop(int w)
    {
        while (true)
        {
            _start[w].Wait();
            if (_stopping) return;
            try { _work!(w); }
            catch (Exception e) { _error ??= ExceptionDispatchInfo.Capture(e); }
            finally { _done.Signal(); }
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        for (int i = 1; i < Workers; i++) _start[i].Release();
        foreach (var t in _threads) t.Join();
        foreach (var s in _start) s.Dispose();
        _done.Dispose();
    }
}
