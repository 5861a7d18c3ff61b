// The training step's thread pool: every worker runs exactly once per Run, whether it was spinning
// (back-to-back runs) or asleep (a pause longer than its spin budget), and errors come back. (An
// earlier pool let a worker that went to sleep just as a run began run twice, now and then.)
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Training;

public sealed class WorkerPoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Every_worker_runs_once_per_run_back_to_back_and_after_sleeping(int workers)
    {
        using var pool = new WorkerPool(workers);
        var counts = new int[workers];
        Action<int> work = w => Interlocked.Increment(ref counts[w]);
        // Back-to-back runs meet workers still spinning, at every phase of their loop; now and then a
        // pause past the spin budget makes them block. Each worker must run once per run, every time.
        for (int run = 1; run <= 5000; run++)
        {
            pool.Run(work);
            Assert.All(counts, c => Assert.Equal(run, c));
            if (run % 1000 == 0) Thread.Sleep(20);
            else if (run % 97 == 0) Thread.SpinWait(run % 5000);
        }
    }

    [Fact]
    public void Run_waits_for_slow_workers()
    {
        using var pool = new WorkerPool(3);
        var done = new bool[3];
        pool.Run(w => { if (w > 0) Thread.Sleep(10 * w); done[w] = true; });
        Assert.All(done, Assert.True);
    }

    [Fact]
    public void An_exception_in_a_worker_reaches_the_caller_and_the_pool_goes_on()
    {
        using var pool = new WorkerPool(2);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(w => { if (w == 1) throw new InvalidOperationException("worker 1 failed"); }));
        Assert.Equal("worker 1 failed", e.Message);
        int ran = 0;
        pool.Run(_ => Interlocked.Increment(ref ran));
        Assert.Equal(2, ran);
    }

    [Fact]
    public void Dispose_stops_spinning_and_sleeping_workers()
    {
        var spinning = new WorkerPool(2);
        spinning.Run(_ => { });
        spinning.Dispose();      // right away: the worker is still spinning
        var sleeping = new WorkerPool(2);
        sleeping.Run(_ => { });
        Thread.Sleep(20);        // the worker has gone to sleep
        sleeping.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sleeping.Run(_ => { }));
    }
}
