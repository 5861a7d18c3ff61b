// Element-wise kernels: an operator struct holds the math once, generic over the vector width
// (IVector), and one driver runs it over the widest width allowed, then narrower ones, then one
// float at a time for the tail. The Lanes1 instance of an operator is its scalar reference.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LeNet.Kernels;

/// <summary>An element-wise operation over up to four float streams of one length: V.Count elements at offset i.</summary>
public interface IElementOperator
{
    void Invoke<V>(ref float a, ref float b, ref float c, ref float d, nuint i) where V : struct, IVector<V>;
}

public static class ElementWise
{
    /// <summary>Runs <paramref name="op"/> over elements [0, length) of the streams, widest vectors first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOp>(TOp op, int length, ref float a, ref float b, ref float c, ref float d) where TOp : struct, IElementOperator
    {
        nuint i = 0, n = (nuint)length;
        if (Simd.Allows(SimdWidth.V512)) i = Loop<TOp, Lanes512>(op, i, n, ref a, ref b, ref c, ref d);
        if (Simd.Allows(SimdWidth.V256)) i = Loop<TOp, Lanes256>(op, i, n, ref a, ref b, ref c, ref d);
        if (Simd.Allows(SimdWidth.V128)) i = Loop<TOp, Lanes128>(op, i, n, ref a, ref b, ref c, ref d);
        Loop<TOp, Lanes1>(op, i, n, ref a, ref b, ref c, ref d);
    }

    /// <summary>Runs <paramref name="op"/> one float at a time: the reference the vector widths are tested against.</summary>
    public static void RunScalar<TOp>(TOp op, int length, ref float a, ref float b, ref float c, ref float d) where TOp : struct, IElementOperator =>
        Loop<TOp, Lanes1>(op, 0, (nuint)length, ref a, ref b, ref c, ref d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static nuint Loop<TOp, V>(TOp op, nuint i, nuint n, ref float a, ref float b, ref float c, ref float d)
        where TOp : struct, IElementOperator where V : struct, IVector<V>
    {
        nuint step = (nuint)V.Count;
        for (; i + step <= n; i += step) op.Invoke<V>(ref a, ref b, ref c, ref d, i);
        return i;
    }

    /// <summary>dz = dy ⊙ f′ for an activation whose derivative is written through y = f(z).</summary>
    public static void Gradient<TOp>(TOp op, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz) where TOp : struct, IElementOperator
    {
        int n = y.Length;
        if (dy.Length < n || dz.Length < n) ThrowShort();
        Run(op, n, ref MemoryMarshal.GetReference(y), ref MemoryMarshal.GetReference(dy), ref MemoryMarshal.GetReference(dz), ref Unsafe.NullRef<float>());
    }

    static void ThrowShort() => throw new ArgumentException("The gradient spans are shorter than y.");
}

/// <summary>Relu: dz = y &gt; 0 ? dy : 0, with masks instead of branches (a branch per element mispredicts on real data).</summary>
public readonly struct ReluGradient : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float y, ref float dy, ref float dz, ref float _, nuint i) where V : struct, IVector<V> =>
        V.Store(V.WherePositive(V.Load(ref y, i), V.Load(ref dy, i)), ref dz, i);
}

/// <summary>Tanh: dz = dy·(1 − y²).</summary>
public readonly struct TanhGradient : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float y, ref float dy, ref float dz, ref float _, nuint i) where V : struct, IVector<V>
    {
        var v = V.Load(ref y, i);
        V.Store(V.Load(ref dy, i) * (V.Create(1f) - v * v), ref dz, i);
    }
}

/// <summary>Sigmoid: dz = dy·y·(1 − y).</summary>
public readonly struct SigmoidGradient : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float y, ref float dy, ref float dz, ref float _, nuint i) where V : struct, IVector<V>
    {
        var v = V.Load(ref y, i);
        V.Store(V.Load(ref dy, i) * v * (V.Create(1f) - v), ref dz, i);
    }
}

/// <summary>The paper's scaled tanh A·tanh(S·z): dz = dy·S·(A − y²/A).</summary>
public readonly struct ScaledTanhGradient : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float y, ref float dy, ref float dz, ref float _, nuint i) where V : struct, IVector<V>
    {
        var v = V.Load(ref y, i);
        V.Store(V.Load(ref dy, i) * V.Create(Activations.ScaledTanhS) * (V.Create(Activations.ScaledTanhA) - v * v / V.Create(Activations.ScaledTanhA)), ref dz, i);
    }
}

/// <summary>c = a·b: a value times its mask (dropout). Streams (a, b, c, —).</summary>
public readonly struct Masked : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float a, ref float b, ref float c, ref float _, nuint i) where V : struct, IVector<V> =>
        V.Store(V.Load(ref a, i) * V.Load(ref b, i), ref c, i);
}
