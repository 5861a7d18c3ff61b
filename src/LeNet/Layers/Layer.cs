// The layer contract: a stateless description (shapes, parameter slice) with Forward and Backward
// over flat batch-major buffers. Per-call state lives in scratch memory owned by the caller's
// workspace, so one layer object serves every worker thread at once.

namespace LeNet.Layers;

/// <summary>Shape of one sample's activations: channels × height × width.</summary>
public readonly record struct Shape(int C, int H, int W)
{
    public int Size => C * H * W;
    public override string ToString() => $"{C}x{H}x{W}";
}

/// <summary>
/// How a forward pass runs. Inference (the default): batch normalisation uses its saved statistics
/// and dropout passes everything. Training: batch normalisation uses the batch's own statistics and
/// dropout draws its mask from <paramref name="Seed"/>.
/// </summary>
public readonly record struct ForwardMode(bool Training, ulong Seed = 0)
{
    public static ForwardMode Inference => default;
}

public abstract class Layer
{
    protected Layer(string name, Shape input, Shape output, Activation activation)
    {
        if (input.Size <= 0 || output.Size <= 0) throw new ArgumentException($"Layer {name} has an empty shape ({input} → {output}).");
        Name = name;
        InputShape = input;
        OutputShape = output;
        Activation = activation;
    }

    public string Name { get; }
    /// <summary>Short kind for summaries, e.g. "Conv2d".</summary>
    public abstract string Kind { get; }
    public Shape InputShape { get; }
    public Shape OutputShape { get; }
    public Activation Activation { get; }

    /// <summary>Trainable parameters of this layer.</summary>
    public virtual int ParameterCount => 0;
    /// <summary>Offset of this layer's parameters in the network's single parameter array.</summary>
    public int ParameterOffset { get; internal set; }
    /// <summary>Multiply-adds (biases counted as one connection each), as the 1998 paper counts connections.</summary>
    public abstract long Connections { get; }

    public virtual void InitializeParameters(Span<float> p, Rng rng) { }

    /// <summary>Told that the network's parameters were set (loaded, initialised, copied): a layer that keeps a copy of its own updates it.</summary>
    public virtual void ParametersChanged(ReadOnlySpan<float> p) { }

    /// <summary>Floats of scratch memory Forward and Backward need for a batch of n.</summary>
    public virtual int ScratchLength(int n) => Activation == Activation.None ? 0 : n * OutputShape.Size;

    /// <summary>y = layer(x) for n samples, for inference. x is (n, input), y is (n, output).</summary>
    public abstract void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch);

    /// <summary>y = layer(x) for n samples in the given mode; only layers that train differently (batch normalisation, dropout) look at it.</summary>
    public virtual void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch, ForwardMode mode) =>
        Forward(p, x, y, n, scratch);

    /// <summary>
    /// Given dy = ∂L/∂y, adds ∂L/∂p to dp and, when dx is not empty, writes dx = ∂L/∂x.
    /// x and y are the tensors of the matching Forward call; scratch is the same memory.
    /// </summary>
    public abstract void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch);

    /// <summary>The gradient with respect to the pre-activation, in scratch when an activation applies.</summary>
    protected ReadOnlySpan<float> PreActivationGradient(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int n, Span<float> scratch)
    {
        if (Activation == Activation.None) return dy[..(n * OutputShape.Size)];
        var dz = scratch[..(n * OutputShape.Size)];
        Activation.Backward(y[..dz.Length], dy[..dz.Length], dz);
        return dz;
    }

    /// <summary>Per-layer description for summaries (kernel size, padding, ...).</summary>
    public virtual string Details => ActivationName;

    /// <summary>Short name of the activation for tables ("" for none; "stanh" is the paper's scaled tanh).</summary>
    protected string ActivationName => Activation.ShortName();

    /// <summary>What is wrong with parameters read from a file that are finite but still unusable (a negative variance), or null.</summary>
    public virtual string? ParameterProblem(ReadOnlySpan<float> p) => null;

    /// <summary>A copy of the layer for another network (which sets its own parameter offset).</summary>
    internal Layer Copy() => (Layer)MemberwiseClone();

    /// <summary>Weights that are part of the layer but not trained (the paper's RBF centres).</summary>
    public virtual int FixedParameterCount => 0;

    /// <summary>
    /// Of <see cref="ParameterCount"/>, how many are statistics rather than weights (batch
    /// normalisation's mean and variance, Keras's "non-trainable params"): the last ones of the
    /// layer's slice. They get no gradient; training sets them from the data (<see cref="Models.Network.RecomputeStatistics"/>).
    /// </summary>
    public virtual int StatisticsCount => 0;
}
