// The activation a layer applies after its affine map, and the one place that maps it to its kernels.
using LeNet.Kernels;

namespace LeNet.Layers;

/// <summary>Activation applied after a layer's affine map.</summary>
public enum Activation
{
    None,
    Relu,
    Tanh,
    Sigmoid,
    /// <summary>LeCun's f(a) = 1.7159·tanh(2a/3) (paper, Appendix A).</summary>
    ScaledTanh,
}

public static class ActivationFunctions
{
    /// <summary>y = f(y) in place.</summary>
    public static void Apply(this Activation f, Span<float> y)
    {
        switch (f)
        {
            case Activation.None: break;
            case Activation.Relu: Activations.Relu(y); break;
            case Activation.Tanh: Activations.Tanh(y); break;
            case Activation.Sigmoid: Activations.Sigmoid(y); break;
            case Activation.ScaledTanh: Activations.ScaledTanh(y); break;
            default: throw new ArgumentOutOfRangeException(nameof(f));
        }
    }

    /// <summary>dz = dy ⊙ f′(z), with f′ written through y = f(z).</summary>
    public static void Backward(this Activation f, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        switch (f)
        {
            case Activation.None: dy[..dz.Length].CopyTo(dz); break;
            case Activation.Relu: Activations.ReluBackward(y, dy, dz); break;
            case Activation.Tanh: Activations.TanhBackward(y, dy, dz); break;
            case Activation.Sigmoid: Activations.SigmoidBackward(y, dy, dz); break;
            case Activation.ScaledTanh: Activations.ScaledTanhBackward(y, dy, dz); break;
            default: throw new ArgumentOutOfRangeException(nameof(f));
        }
    }

    /// <summary>Short name for tables ("" for none; "stanh" is the paper's scaled tanh).</summary>
    public static string ShortName(this Activation f) => f switch
    {
        Activation.None => "",
        Activation.ScaledTanh => "stanh",
        _ => f.ToString().ToLowerInvariant(),
    };
}
