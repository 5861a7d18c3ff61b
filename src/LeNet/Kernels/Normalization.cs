// The kernels of batch normalisation, over one channel's plane of one sample (h·w contiguous floats):
// sums for the statistics and the gradient (a width-generic reduction driver beside ElementWise's),
// the normalisation y = max(x·scale + shift, floor) and its input gradient dx = a·dz + b·x + c.
// Every operator is written once over IVector, so each width runs the same body, and its Lanes1
// instance is the scalar reference the tests compare against.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LeNet.Kernels;

/// <summary>A term of a sum over two float streams: Σ Term(a[i], b[i]).</summary>
public interface ISumTerm
{
    V Term<V>(V a, V b) where V : struct, IVector<V>;
}

/// <summary>a − m, squared: the variance's sum about a known mean.</summary>
public readonly struct SquaredDeviation(float mean) : ISumTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public V Term<V>(V a, V b) where V : struct, IVector<V>
    {
        var d = a - V.Create(mean);
        return d * d;
    }
}

/// <summary>a: a plain sum.</summary>
public readonly struct Plain : ISumTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public V Term<V>(V a, V b) where V : struct, IVector<V> => a;
}

/// <summary>a·b: a dot product.</summary>
public readonly struct Product : ISumTerm
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public V Term<V>(V a, V b) where V : struct, IVector<V> => a * b;
}

/// <summary>y = max(x·scale + shift, floor): normalisation with its affine map, relu with floor 0. Streams (x, y, —, —).</summary>
public readonly struct ScaleShift(float scale, float shift, float floor) : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float x, ref float y, ref float _, ref float __, nuint i) where V : struct, IVector<V> =>
        V.Store(V.Max(V.Load(ref x, i) * V.Create(scale) + V.Create(shift), V.Create(floor)), ref y, i);
}

/// <summary>dx = a·dz + b·x + c: batch normalisation's input gradient for one channel. Streams (dz, x, dx, —).</summary>
public readonly struct AffineCombination(float a, float b, float c) : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float dz, ref float x, ref float dx, ref float _, nuint i) where V : struct, IVector<V> =>
        V.Store(V.Create(a) * V.Load(ref dz, i) + V.Create(b) * V.Load(ref x, i) + V.Create(c), ref dx, i);
}

public static class Normalization
{
    /// <summary>Σ term(a[i], b[i]) over the span, widest vectors first (b may be empty when the term ignores it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum<TTerm>(TTerm term, ReadOnlySpan<float> a, ReadOnlySpan<float> b) where TTerm : struct, ISumTerm
    {
        if (!b.IsEmpty && b.Length < a.Length) throw new ArgumentException("The second stream is shorter than the first.", nameof(b));
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref b.IsEmpty ? ref ra : ref MemoryMarshal.GetReference(b);
        nuint i = 0, n = (nuint)a.Length;
        float sum = 0;
        if (Simd.Allows(SimdWidth.V512)) sum += Loop<TTerm, Lanes512>(term, ref i, n, ref ra, ref rb);
        if (Simd.Allows(SimdWidth.V256)) sum += Loop<TTerm, Lanes256>(term, ref i, n, ref ra, ref rb);
        if (Simd.Allows(SimdWidth.V128)) sum += Loop<TTerm, Lanes128>(term, ref i, n, ref ra, ref rb);
        return sum + Loop<TTerm, Lanes1>(term, ref i, n, ref ra, ref rb);
    }

    /// <summary>The same sum one float at a time: the reference.</summary>
    public static float SumScalar<TTerm>(TTerm term, ReadOnlySpan<float> a, ReadOnlySpan<float> b) where TTerm : struct, ISumTerm
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref b.IsEmpty ? ref ra : ref MemoryMarshal.GetReference(b);
        nuint i = 0;
        return Loop<TTerm, Lanes1>(term, ref i, (nuint)a.Length, ref ra, ref rb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Loop<TTerm, V>(TTerm term, ref nuint i, nuint n, ref float a, ref float b) where TTerm : struct, ISumTerm where V : struct, IVector<V>
    {
        nuint step = (nuint)V.Count;
        if (i + step > n) return 0;
        var acc = V.Zero;
        for (; i + step <= n; i += step) acc += term.Term(V.Load(ref a, i), V.Load(ref b, i));
        return V.Sum(acc);
    }

    /// <summary>y = max(x·scale + shift, floor) over one plane.</summary>
    public static void Normalize(ReadOnlySpan<float> x, Span<float> y, float scale, float shift, float floor)
    {
        if (y.Length < x.Length) throw new ArgumentException("The destination is shorter than the input.", nameof(y));
        ElementWise.Run(new ScaleShift(scale, shift, floor), x.Length, ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y),
            ref Unsafe.NullRef<float>(), ref Unsafe.NullRef<float>());
    }

    /// <summary>dx = a·dz + b·x + c over one plane.</summary>
    public static void InputGradient(ReadOnlySpan<float> dz, ReadOnlySpan<float> x, Span<float> dx, float a, float b, float c)
    {
        if (x.Length < dz.Length || dx.Length < dz.Length) throw new ArgumentException("The spans are shorter than dz.");
        ElementWise.Run(new AffineCombination(a, b, c), dz.Length, ref MemoryMarshal.GetReference(dz), ref MemoryMarshal.GetReference(x),
            ref MemoryMarshal.GetReference(dx), ref Unsafe.NullRef<float>());
    }
}
