// Optimizers over the single flat parameter array: one loop each. Their state (velocity, moments)
// is exposed as named float arrays so a checkpoint can save and restore it exactly. The loops run
// 8 or 16 parameters at a time with the same operations in the same order as the scalar form (no fused
// multiply-adds), so every width gives bit-identical parameters.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LeNet.Kernels;

namespace LeNet.Training;

public abstract class Optimizer
{
    public abstract string Name { get; }
    /// <summary>Updates that have been applied (Adam's bias correction uses it).</summary>
    public long Steps { get; set; }
    /// <summary>State arrays by name, each as long as the parameters.</summary>
    public abstract IReadOnlyDictionary<string, float[]> State { get; }

    /// <summary>One update of p with gradient g at learning rate lr.</summary>
    public void Step(Span<float> p, ReadOnlySpan<float> g, float lr)
    {
        Steps++;
        Update(p, g, lr, 0);
    }

    /// <summary>
    /// Starts an update that is applied in parts, possibly on several threads at once: call it once,
    /// then <see cref="UpdateRange"/> for disjoint ranges that together cover the parameters. The
    /// result is bit-identical to <see cref="Step"/> (every optimizer works element by element).
    /// </summary>
    public void BeginStep() => Steps++;

    /// <summary>The update of parameters [offset, offset + p.Length): p and g are those slices.</summary>
    public void UpdateRange(Span<float> p, ReadOnlySpan<float> g, float lr, int offset)
    {
        if (p.Length != g.Length) throw new ArgumentException("The parameter and gradient ranges differ in length.");
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        Update(p, g, lr, offset);
    }

    /// <summary>Updates p (the parameters from offset on) with gradient g; state element offset + i goes with p[i].</summary>
    protected abstract void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset);

    public static IReadOnlyList<string> Names { get; } = ["sgd", "adam", "rmsprop"];

    public static Optimizer Create(string name, int parameters) => name switch
    {
        "sgd" => new SgdMomentum(parameters),
        "adam" => new Adam(parameters),
        "rmsprop" => new RmsProp(parameters),
        _ => throw new LeNetException($"Unknown optimizer '{name}'. Choose one of: {string.Join(", ", Names)}."),
    };
}

/// <summary>v = μ·v + g; p −= lr·v (μ = 0.9, the PyTorch form).</summary>
public sealed class SgdMomentum(int parameters, float momentum = 0.9f) : Optimizer
{
    readonly float[] _v = new float[parameters];
    public override string Name => "sgd";
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["velocity"] = _v };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset)
    {
        var vs = _v.AsSpan(offset, p.Length);
        int i = 0;
        if (Simd.Width != SimdWidth.Scalar && Vector256.IsHardwareAccelerated)
        {
            ref float P = ref MemoryMarshal.GetReference(p);
            ref float G = ref MemoryMarshal.GetReference(g);
            ref float V = ref MemoryMarshal.GetReference(vs);
            var mu = Vector256.Create(momentum);
            var rate = Vector256.Create(lr);
            for (; i + 8 <= p.Length; i += 8)
            {
                nuint o = (nuint)i;
                var v = mu * Vector256.LoadUnsafe(ref V, o) + Vector256.LoadUnsafe(ref G, o);
                v.StoreUnsafe(ref V, o);
                (Vector256.LoadUnsafe(ref P, o) - rate * v).StoreUnsafe(ref P, o);
            }
        }
        for (; i < p.Length; i++)
        {
            float v = momentum * vs[i] + g[i];
            vs[i] = v;
            p[i] -= lr * v;
        }
    }
}

/// <summary>Adam (Kingma &amp; Ba): bias-corrected moments, β₁ = 0.9, β₂ = 0.999, ε = 1e-8.</summary>
public sealed class Adam(int parameters, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f) : Optimizer
{
    readonly float[] _m = new float[parameters], _v = new float[parameters];
    public override string Name => "adam";
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["m"] = _m, ["v"] = _v };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset)
    {
        float c1 = 1f / (1f - MathF.Pow(beta1, Steps)), c2 = 1f / (1f - MathF.Pow(beta2, Steps));
        Span<float> ms = _m.AsSpan(offset, p.Length), vs = _v.AsSpan(offset, p.Length);
        int i = 0;
        if (Simd.Width == SimdWidth.V512)
        {
            ref float P = ref MemoryMarshal.GetReference(p);
            ref float G = ref MemoryMarshal.GetReference(g);
            ref float M = ref MemoryMarshal.GetReference(ms);
            ref float V = ref MemoryMarshal.GetReference(vs);
            Vector512<float> b1 = Vector512.Create(beta1), b2 = Vector512.Create(beta2), d1 = Vector512.Create(1 - beta1), d2 = Vector512.Create(1 - beta2),
                k1 = Vector512.Create(c1), k2 = Vector512.Create(c2), rate = Vector512.Create(lr), eps = Vector512.Create(epsilon);
            for (; i + 16 <= p.Length; i += 16)
            {
                nuint o = (nuint)i;
                var gi = Vector512.LoadUnsafe(ref G, o);
                var m = b1 * Vector512.LoadUnsafe(ref M, o) + d1 * gi;
                var v = b2 * Vector512.LoadUnsafe(ref V, o) + d2 * gi * gi;
                m.StoreUnsafe(ref M, o);
                v.StoreUnsafe(ref V, o);
                (Vector512.LoadUnsafe(ref P, o) - rate * (m * k1) / (Vector512.Sqrt(v * k2) + eps)).StoreUnsafe(ref P, o);
            }
        }
        if (Simd.Width != SimdWidth.Scalar && Vector256.IsHardwareAccelerated)
        {
            ref float P = ref MemoryMarshal.GetReference(p);
            ref float G = ref MemoryMarshal.GetReference(g);
            ref float M = ref MemoryMarshal.GetReference(ms);
            ref float V = ref MemoryMarshal.GetReference(vs);
            Vector256<float> b1 = Vector256.Create(beta1), b2 = Vector256.Create(beta2), d1 = Vector256.Create(1 - beta1), d2 = Vector256.Create(1 - beta2),
                k1 = Vector256.Create(c1), k2 = Vector256.Create(c2), rate = Vector256.Create(lr), eps = Vector256.Create(epsilon);
            for (; i + 8 <= p.Length; i += 8)
            {
                nuint o = (nuint)i;
                var gi = Vector256.LoadUnsafe(ref G, o);
                var m = b1 * Vector256.LoadUnsafe(ref M, o) + d1 * gi;
                var v = b2 * Vector256.LoadUnsafe(ref V, o) + d2 * gi * gi;
                m.StoreUnsafe(ref M, o);
                v.StoreUnsafe(ref V, o);
                (Vector256.LoadUnsafe(ref P, o) - rate * (m * k1) / (Vector256.Sqrt(v * k2) + eps)).StoreUnsafe(ref P, o);
            }
        }
        for (; i < p.Length; i++)
        {
            float gi = g[i];
            float m = ms[i] = beta1 * ms[i] + (1 - beta1) * gi;
            float v = vs[i] = beta2 * vs[i] + (1 - beta2) * gi * gi;
            p[i] -= lr * (m * c1) / (MathF.Sqrt(v * c2) + epsilon);
        }
    }
}

/// <summary>RMSprop: s = ρ·s + (1 − ρ)·g²; p −= lr·g / (√s + ε), ρ = 0.9, ε = 1e-7 (the Keras defaults).</summary>
public sealed class RmsProp(int parameters, float rho = 0.9f, float epsilon = 1e-7f) : Optimizer
{
    readonly float[] _s = new float[parameters];
    public override string Name => "rmsprop";
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["s"] = _s };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset)
    {
        var ss = _s.AsSpan(offset, p.Length);
        int i = 0;
        if (Simd.Width != SimdWidth.Scalar && Vector256.IsHardwareAccelerated)
        {
            ref float P = ref MemoryMarshal.GetReference(p);
            ref float G = ref MemoryMarshal.GetReference(g);
            ref float S = ref MemoryMarshal.GetReference(ss);
            Vector256<float> r = Vector256.Create(rho), d = Vector256.Create(1 - rho), rate = Vector256.Create(lr), eps = Vector256.Create(epsilon);
            for (; i + 8 <= p.Length; i += 8)
            {
                nuint o = (nuint)i;
                var gi = Vector256.LoadUnsafe(ref G, o);
                var s = r * Vector256.LoadUnsafe(ref S, o) + d * gi * gi;
                s.StoreUnsafe(ref S, o);
                (Vector256.LoadUnsafe(ref P, o) - rate * gi / (Vector256.Sqrt(s) + eps)).StoreUnsafe(ref P, o);
            }
        }
        for (; i < p.Length; i++)
        {
            float s = ss[i] = rho * ss[i] + (1 - rho) * g[i] * g[i];
            p[i] -= lr * g[i] / (MathF.Sqrt(s) + epsilon);
        }
    }
}
