// Fully connected layer: y = f(W·x + b). Input of any shape is flattened (Keras Flatten + Dense).
// input (N, in) → output (N, out); parameters: W (out, in) row-major, then b (out).
using System.Numerics.Tensors;
using LeNet.Kernels;
using LeNet.Training;

namespace LeNet.Layers;

public sealed class Dense : Layer
{
    public Dense(string name, Shape input, int outputs, Activation activation)
        : base(name, input, new Shape(outputs, 1, 1), activation) { }

    public override string Kind => "Dense";
    int In => InputShape.Size;
    int Out => OutputShape.C;
    public override int ParameterCount => Out * In + Out;
    public override long Connections => (long)Out * (In + 1);

    public override void InitializeParameters(Span<float> p, Rng rng) => Initializers.Fill(p[..(Out * In)], In, Out, Activation, rng);

    // forward: the transposed input and output (AffineScratch); backward: the pre-activation
    // gradient, then its transpose (out, n) for the weight gradient
    public override int ScratchLength(int n) => Math.Max(2 * n * Out, AffineScratch(n, In, Out));

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        AffineForward(p[..(Out * In)], p.Slice(Out * In, Out), x, y, n, In, Out, scratch);
        Activations.Apply(Activation, y[..(n * Out)]);
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        var dzBuf = scratch[..(n * Out)];
        ReadOnlySpan<float> dz = dy[..(n * Out)];
        if (Activation != Activation.None) { Activations.Backward(Activation, y[..(n * Out)], dz, dzBuf); dz = dzBuf; }
        AffineBackward(p[..(Out * In)], x, dz, dx, dp[..(Out * In)], dp.Slice(Out * In, Out), n, In, Out, scratch.Slice(n * Out, n * Out));
    }

    // From this many rows on, the forward pass runs as yᵀ = W·xᵀ: a matrix product whose rows are
    // the weights' rows and whose columns are the samples, so each step of its inner loop is one
    // broadcast weight times a vector of samples. The direct form x·Wᵀ is a grid of dot products,
    // each ending in a horizontal sum (and a scalar tail when the input size is not a multiple of
    // 16): measured 6x slower for a micro-batch of 16 through a 120→84 layer. A single image has
    // nothing to put in the vector lanes, so it keeps the dot products.
    const int TransposedFrom = 8;

    /// <summary>Scratch floats AffineForward needs for n rows.</summary>
    internal static int AffineScratch(int n, int inputs, int outputs) => n >= TransposedFrom ? n * (inputs + outputs) : 0;

    /// <summary>y = x·Wᵀ + b for n rows: W is (outputs, inputs). Also a convolution whose kernel covers its input.</summary>
    internal static void AffineForward(ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int n, int inputs, int outputs,
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
    internal static void AffineBackward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> dz, Span<float> dx, Span<float> dW, Span<float> db,
        int n, int inputs, int outputs, Span<float> dzT)
    {
        Gemm.Transpose(n, outputs, dz, outputs, dzT);
        Gemm.MultiplyNN(outputs, inputs, n, dzT, n, x, inputs, dW, inputs, accumulate: true);   // dW += dzᵀ·x
        for (int o = 0; o < outputs; o++) db[o] += TensorPrimitives.Sum(dzT.Slice(o * n, n));
        if (!dx.IsEmpty) Gemm.MultiplyNN(n, inputs, outputs, dz, outputs, w, inputs, dx, inputs, accumulate: false); // dx = dz·W
    }
}
