// Element-wise activation functions and their derivatives written in terms of the output y,
// so backward passes need only the stored activations.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(Activation f, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        switch (f)
        {
            case Activation.None: dy.CopyTo(dz); break;
            case Activation.Relu:
                ReluBackward(y, dy, dz);
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

    /// <summary>dz = y &gt; 0 ? dy : 0, with masks instead of branches (a branch per element mispredicts on real data).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        int n = y.Length, i = 0;
        if (dy.Length < n || dz.Length < n) throw new ArgumentException("ReluBackward: spans shorter than y.");
        ref float Y = ref MemoryMarshal.GetReference(y);
        ref float DY = ref MemoryMarshal.GetReference(dy);
        ref float DZ = ref MemoryMarshal.GetReference(dz);
        if (Simd.Width == SimdWidth.V512)
            for (; i + 16 <= n; i += 16)
                Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref Y, (nuint)i), Vector512<float>.Zero),
                    Vector512.LoadUnsafe(ref DY, (nuint)i), Vector512<float>.Zero).StoreUnsafe(ref DZ, (nuint)i);
        if (Simd.Width != SimdWidth.Scalar)
            for (; i + 8 <= n; i += 8)
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref Y, (nuint)i), Vector256<float>.Zero),
                    Vector256.LoadUnsafe(ref DY, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref DZ, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref DZ, i) = Unsafe.Add(ref Y, i) > 0 ? Unsafe.Add(ref DY, i) : 0f;
    }
}
