// The affine map of a dense layer, y = x·Wᵀ + b, and its gradients, over rows of samples, on the
// GEMM kernels. A convolution whose kernel covers its input runs as one too.
using System.Numerics.Tensors;

namespace LeNet.Kernels;

public static class Affine
{
    // From this many rows on, the forward pass runs as yᵀ = W·xᵀ: a matrix product whose rows are
    // the weights' rows and whose columns are the samples, so each step of its inner loop is one
    // broadcast weight times a vector of samples. The direct form x·Wᵀ is a grid of dot products,
    // each ending in a horizontal sum (and a scalar tail when the input size is not a multiple of
    // 16): measured 6x slower for a micro-batch of 16 through a 120→84 layer. A single image has
    // nothing to put in the vector lanes, so it keeps the dot products.
    const int TransposedFrom = 8;

    /// <summary>Scratch floats AffineForward needs for n rows.</summary>
    public static int ScratchLength(int n, int inputs, int outputs) => n >= TransposedFrom ? n * (inputs + outputs) : 0;

    /// <summary>y = x·Wᵀ + b for n rows: W is (outputs, inputs). Also a convolution whose kernel covers its input.</summary>
    public static void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int n, int inputs, int outputs,
        Span<float> scratch)
    {
        if (n >= TransposedFrom)
        {
            var xT = scratch[..(n * inputs)];
            var yT = scratch.Slice(n * inputs, n * outputs);
            Gemm.Transpose(n, inputs, x, inputs, xT);
            Gemm.MultiplyNN(outputs, n, inputs, w, inputs, xT, n, yT, n, accumulate: false);
            for (int o = 0; o < outputs; o++)
            {
                var row = yT.Slice(o * n, n);
                TensorPrimitives.Add(row, bias[o], row);
            }
            Gemm.Transpose(outputs, n, yT, n, y);
            return;
        }
        Gemm.MultiplyNT(n, outputs, inputs, x, inputs, w, inputs, y, outputs, accumulate: false);
        for (int s = 0; s < n; s++)
        {
            var row = y.Slice(s * outputs, outputs);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary>Given dz = ∂L/∂y: dW += dzᵀ·x, db += Σ dz, and dx = dz·W when dx is not empty. dzT is scratch (n × outputs).</summary>
    public static void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> dz, Span<float> dx, Span<float> dW, Span<float> db,
        int n, int inputs, int outputs, Span<float> dzT)
    {
        Gemm.Transpose(n, outputs, dz, outputs, dzT);
        Gemm.MultiplyNN(outputs, inputs, n, dzT, n, x, inputs, dW, inputs, accumulate: true);   // dW += dzᵀ·x
        for (int o = 0; o < outputs; o++) db[o] += TensorPrimitives.Sum(dzT.Slice(o * n, n));
        if (!dx.IsEmpty) Gemm.MultiplyNN(n, inputs, outputs, dz, outputs, w, inputs, dx, inputs, accumulate: false); // dx = dz·W
    }
}
