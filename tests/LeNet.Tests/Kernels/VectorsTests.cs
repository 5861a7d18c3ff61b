// The vector wrappers' in-place multiply-add, which every tile accumulates with, against the
// returned form and against the scalar lane by lane: bit for bit at every width the machine runs.
using LeNet.Kernels;
using Xunit;

namespace LeNet.Tests.Kernels;

public sealed class VectorsTests
{
    static void Check<V>() where V : struct, IVector<V>
    {
        if (!V.IsAccelerated) return;
        var rng = new Random(5);
        float[] a = new float[V.Count], b = new float[V.Count], c = new float[V.Count], got = new float[V.Count], returned = new float[V.Count];
        for (int trial = 0; trial < 200; trial++)
        {
            for (int i = 0; i < V.Count; i++) { a[i] = rng.NextSingle() * 4 - 2; b[i] = rng.NextSingle() * 4 - 2; c[i] = rng.NextSingle() * 4 - 2; }
            V sum = V.Load(ref c[0], 0);
            V.Accumulate(ref sum, V.Load(ref a[0], 0), V.Load(ref b[0], 0));
            V.Store(sum, ref got[0], 0);
            V.Store(V.MultiplyAdd(V.Load(ref a[0], 0), V.Load(ref b[0], 0), V.Load(ref c[0], 0)), ref returned[0], 0);
            Assert.Equal(returned, got);
            for (int i = 0; i < V.Count; i++)
            {
                var one = Lanes1.Create(c[i]);
                Lanes1.Accumulate(ref one, Lanes1.Create(a[i]), Lanes1.Create(b[i]));
                Assert.Equal(Lanes1.Sum(one), got[i]);
            }
        }
    }

    [Fact]
    public void Accumulate_is_multiply_add_in_place_at_every_width()
    {
        Check<Lanes1>();
        Check<Lanes128>();
        Check<Lanes256>();
        Check<Lanes512>();
    }
}
