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

    // pre-activation gradient, then its transpose (out, n) for the weight gradient
    public override int ScratchLength(int n) => 2 * n * Out;

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        var bias = p.Slice(Out * In, Out);
        Gemm.MultiplyNT(n, Out, In, x, In, p, In, y, Out, accumulate: false);
        for (int s = 0; s < n; s++)
        {
            var row = y.Slice(s * Out, Out);
            TensorPrimitives.Add(row, bias, row);
        }
        Activations.Apply(Activation, y[..(n * Out)]);
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        var dzBuf = scratch[..(n * Out)];
        ReadOnlySpan<float> dz = dy[..(n * Out)];
        if (Activation != Activation.None) { Activations.Backward(Activation, y[..(n * Out)], dz, dzBuf); dz = dzBuf; }
        var dzT = scratch.Slice(n * Out, n * Out);
        Gemm.Transpose(n, Out, dz, Out, dzT);
        Gemm.MultiplyNN(Out, In, n, dzT, n, x, In, dp, In, accumulate: true);   // dW += dzᵀ·x
        var db = dp.Slice(Out * In, Out);
        for (int o = 0; o < Out; o++) db[o] += TensorPrimitives.Sum(dzT.Slice(o * n, n));
        if (!dx.IsEmpty) Gemm.MultiplyNN(n, In, Out, dz, Out, p, In, dx, In, accumulate: false); // dx = dz·W
    }
}
