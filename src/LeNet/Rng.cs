// A small deterministic random number generator (SplitMix64), so shuffles, initial weights and
// distortions are identical on every runtime and can be saved in a checkpoint as one number.
namespace LeNet;

public sealed class Rng
{
    ulong _state;

    public Rng(ulong seed) => _state = seed;

    /// <summary>A generator for a sub-stream, e.g. (seed, epoch): independent of call order elsewhere.</summary>
    public static Rng For(ulong seed, ulong stream, ulong substream = 0) => new(SeedFor(seed, stream, substream));

    /// <summary>The state <see cref="For"/> starts from; set <see cref="State"/> to it to reuse one generator.</summary>
    public static ulong SeedFor(ulong seed, ulong stream, ulong substream = 0) =>
        Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL) ^ Mix(substream + 0xD1B54A32D192ED03UL));

    public ulong State { get => _state; set => _state = value; }

    public ulong NextUInt64() => Mix(_state += 0x9E3779B97F4A7C15UL);

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [lo, hi).</summary>
    public float Uniform(float lo, float hi) => lo + (hi - lo) * NextFloat();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)((NextUInt64() >> 33) % (ulong)n);

    /// <summary>Standard normal (Box–Muller).</summary>
    public float Gaussian()
    {
        double u1 = 1.0 - (NextUInt64() >> 11) * (1.0 / (1UL << 53)), u2 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>Fisher–Yates shuffle.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
