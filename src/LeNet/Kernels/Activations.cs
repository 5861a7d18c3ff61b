// Element-wise activation functions and their derivatives written in terms of the output y,
// so backward passes need only the stored activations.
using System.Numerics.Tensors;

namespace LeNet.Kernels;

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

public static class Activations
{
    public const float ScaledTanhA = 1.7159f;
    public const float ScaledTanhS = 2f / 3f;

    /// <summary>y = f(y) in place.</summary>
    public static void Apply(Activation f, Span<float> y)
    {
        switch (f)
        {
            case Activation.None: break;
            case Activation.Relu: TensorPrimitives.Max(y, 0f, y); break;
            case Activation.Tanh: TensorPrimitives.Tanh(y, y); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(y, y); break;
            case Activation.ScaledTanh:
                TensorPrimitives.Multiply(y, ScaledTanhS, y);
                TensorPrimitives.Tanh(y, y);
                TensorPrimitives.Multiply(y, ScaledTanhA, y);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(f));
        }
    }

    /// <summary>dz = dy ⊙ f′, with f′ expressed through y = f(z).</summary>
    public static void Backward(Activation f, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        switch (f)
        {
            case Activation.None: dy.CopyTo(dz); break;
            case Activation.Relu:
                for (int i = 0; i < y.Length; i++) dz[i] = y[i] > 0 ? dy[i] : 0f;
                break;
            case Activation.Tanh: // 1 − y²
                for (int i = 0; i < y.Length; i++) dz[i] = dy[i] * (1f - y[i] * y[i]);
                break;
            case Activation.Sigmoid: // y (1 − y)
                for (int i = 0; i < y.Length; i++) dz[i] = dy[i] * y[i] * (1f - y[i]);
                break;
            case Activation.ScaledTanh: // A·S·(1 − tanh²) = S·(A − y²/A)
                for (int i = 0; i < y.Length; i++) dz[i] = dy[i] * ScaledTanhS * (ScaledTanhA - y[i] * y[i] / ScaledTanhA);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(f));
        }
    }
}
