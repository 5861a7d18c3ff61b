// Optimizers over the single flat parameter array: one element-wise update each (Kernels/Updates.cs,
// bit-identical at every vector width). Their state (velocity, moments) is exposed as named float
// arrays so a checkpoint can save and restore it exactly.
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

    /// <summary>The optimizer of that name for that many parameters; weightDecay is decoupled weight decay λ (AdamW), adam only.</summary>
    public static Optimizer Create(string name, int parameters, float weightDecay = 0) => name switch
    {
        _ when weightDecay != 0 && name != "adam" => throw new LeNetException($"Weight decay is decoupled, as in AdamW: it goes with adam, not {name}."),
        "sgd" => new SgdMomentum(parameters),
        "adam" => new Adam(parameters, weightDecay: weightDecay),
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

    protected override void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset) =>
        Updates.Apply(new MomentumUpdate(momentum, lr), p, g, _v.AsSpan(offset, p.Length), default);
}

/// <summary>Adam (Kingma &amp; Ba): bias-corrected moments, β₁ = 0.9, β₂ = 0.999, ε = 1e-8.</summary>
public sealed class Adam(int parameters, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0) : Optimizer
{
    readonly float[] _m = new float[parameters], _v = new float[parameters];
    public override string Name => "adam";
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["m"] = _m, ["v"] = _v };

    protected override void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset)
    {
        float c1 = 1f / (1f - MathF.Pow(beta1, Steps)), c2 = 1f / (1f - MathF.Pow(beta2, Steps));
        Updates.Apply(new AdamUpdate(beta1, beta2, c1, c2, lr, epsilon, weightDecay), p, g, _m.AsSpan(offset, p.Length), _v.AsSpan(offset, p.Length));
    }
}

/// <summary>RMSprop: s = ρ·s + (1 − ρ)·g²; p −= lr·g / (√s + ε), ρ = 0.9, ε = 1e-7 (the Keras defaults).</summary>
public sealed class RmsProp(int parameters, float rho = 0.9f, float epsilon = 1e-7f) : Optimizer
{
    readonly float[] _s = new float[parameters];
    public override string Name => "rmsprop";
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["s"] = _s };

    protected override void Update(Span<float> p, ReadOnlySpan<float> g, float lr, int offset) =>
        Updates.Apply(new RmsPropUpdate(rho, lr, epsilon), p, g, _s.AsSpan(offset, p.Length), default);
}
