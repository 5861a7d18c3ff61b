// Element-wise activation functions, and their derivatives written in terms of the output y so
// that backward passes need only the stored activations. The layers choose which one applies.
using System.Numerics.Tensors;

namespace LeNet.Kernels;

public static class Activations
{
    /// <summary>A of the paper's scaled tanh f(a) = A·tanh(S·a) (Appendix A).</summary>
    public const float ScaledTanhA = 1.7159f;
    /// <summary>S of the paper's scaled tanh.</summary>
    public const float ScaledTanhS = 2f / 3f;

    /// <summary>y = max(y, 0) in place.</summary>
    public static void Relu(Span<float> y) => TensorPrimitives.Max(y, 0f, y);

    /// <summary>y = tanh(y) in place.</summary>
    public static void Tanh(Span<float> y) => TensorPrimitives.Tanh(y, y);

    /// <summary>y = 1 / (1 + e^−y) in place.</summary>
    public static void Sigmoid(Span<float> y) => TensorPrimitives.Sigmoid(y, y);

    /// <summary>y = A·tanh(S·y) in place.</summary>
    public static void ScaledTanh(Span<float> y)
    {
        TensorPrimitives.Multiply(y, ScaledTanhS, y);
        TensorPrimitives.Tanh(y, y);
        TensorPrimitives.Multiply(y, ScaledTanhA, y);
    }

    /// <summary>dz = y &gt; 0 ? dy : 0.</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz) => ElementWise.Gradient(new ReluGradient(), y, dy, dz);

    /// <summary>dz = dy·(1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz) => ElementWise.Gradient(new TanhGradient(), y, dy, dz);

    /// <summary>dz = dy·y·(1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz) => ElementWise.Gradient(new SigmoidGradient(), y, dy, dz);

    /// <summary>dz = dy·S·(A − y²/A).</summary>
    public static void ScaledTanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz) => ElementWise.Gradient(new ScaledTanhGradient(), y, dy, dz);
}
