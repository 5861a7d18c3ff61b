// The optimizers' updates, one parameter at a time, as element-wise operators over (p, g, a, b):
// the parameters, their gradient and up to two state arrays. Plain multiplies and adds in the order
// written (no fused multiply-adds), so every width gives bit-identical parameters.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LeNet.Kernels;

public static class Updates
{
    /// <summary>Runs <paramref name="op"/> over p, g and the state spans a and b (empty when unused).</summary>
    public static void Apply<TOp>(TOp op, Span<float> p, ReadOnlySpan<float> g, Span<float> a, Span<float> b) where TOp : struct, IElementOperator
    {
        if (g.Length != p.Length || (!a.IsEmpty && a.Length != p.Length) || (!b.IsEmpty && b.Length != p.Length))
            throw new ArgumentException("The parameter, gradient and state spans differ in length.");
        ElementWise.Run(op, p.Length, ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g),
            ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b));
    }

    /// <summary>Moves the running average a towards the parameters p: a = d·a + (1 − d)·p.</summary>
    public static void Average(Span<float> average, ReadOnlySpan<float> p, float decay)
    {
        if (average.Length != p.Length) throw new ArgumentException("The average and parameter spans differ in length.");
        ElementWise.Run(new AverageUpdate(decay), p.Length, ref MemoryMarshal.GetReference(average),
            ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(average), ref MemoryMarshal.GetReference(average));
    }
}

/// <summary>
/// The exponential moving average of the weights (Polyak averaging): a = d·a + (1 − d)·p, written as
/// a + (1 − d)·(p − a). Streams (a, p, —, —).
/// </summary>
public readonly struct AverageUpdate(float decay) : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float a, ref float p, ref float _, ref float __, nuint i) where V : struct, IVector<V>
    {
        var ai = V.Load(ref a, i);
        V.Store(ai + V.Create(1 - decay) * (V.Load(ref p, i) - ai), ref a, i);
    }
}

/// <summary>SGD with momentum μ: v = μ·v + g; p −= lr·v. Streams (p, g, v, —).</summary>
public readonly struct MomentumUpdate(float momentum, float rate) : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float p, ref float g, ref float velocity, ref float _, nuint i) where V : struct, IVector<V>
    {
        var v = V.Create(momentum) * V.Load(ref velocity, i) + V.Load(ref g, i);
        V.Store(v, ref velocity, i);
        V.Store(V.Load(ref p, i) - V.Create(rate) * v, ref p, i);
    }
}

/// <summary>
/// Adam: m = β₁·m + (1 − β₁)·g; v = β₂·v + (1 − β₂)·g²; p −= lr·(m·c₁) / (√(v·c₂) + ε), where c₁ and
/// c₂ are the bias corrections 1/(1 − βᵗ); with decoupled weight decay λ (AdamW, Loshchilov &amp; Hutter
/// 2019) also p −= lr·λ·p, from the parameter before this step. Streams (p, g, m, v).
/// </summary>
public readonly struct AdamUpdate(float beta1, float beta2, float c1, float c2, float rate, float epsilon, float decay = 0) : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float p, ref float g, ref float m, ref float v, nuint i) where V : struct, IVector<V>
    {
        var gi = V.Load(ref g, i);
        var mi = V.Create(beta1) * V.Load(ref m, i) + V.Create(1 - beta1) * gi;
        var vi = V.Create(beta2) * V.Load(ref v, i) + V.Create(1 - beta2) * gi * gi;
        V.Store(mi, ref m, i);
        V.Store(vi, ref v, i);
        var pi = V.Load(ref p, i);
        var step = V.Create(rate) * (mi * V.Create(c1)) / (V.Sqrt(vi * V.Create(c2)) + V.Create(epsilon));
        // Without decay this is p − step exactly as before (0·p adds nothing), so earlier runs are unchanged.
        V.Store(pi - step - V.Create(rate * decay) * pi, ref p, i);
    }
}

/// <summary>RMSprop: s = ρ·s + (1 − ρ)·g²; p −= lr·g / (√s + ε). Streams (p, g, s, —).</summary>
public readonly struct RmsPropUpdate(float rho, float rate, float epsilon) : IElementOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<V>(ref float p, ref float g, ref float s, ref float _, nuint i) where V : struct, IVector<V>
    {
        var gi = V.Load(ref g, i);
        var si = V.Create(rho) * V.Load(ref s, i) + V.Create(1 - rho) * gi * gi;
        V.Store(si, ref s, i);
        V.Store(V.Load(ref p, i) - V.Create(rate) * gi / (V.Sqrt(si) + V.Create(epsilon)), ref p, i);
    }
}
