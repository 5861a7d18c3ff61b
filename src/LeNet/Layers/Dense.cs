// Fully connected layer: y = f(W·x + b). Input of any shape is flattened (Keras Flatten + Dense).
// input (N, in) → output (N, out); parameters: W (out, in) row-major, then b (out).
using LeNet.Kernels;

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

    // forward: the transposed input and output (Affine.ScratchLength); backward: the pre-activation
    // gradient, then its transpose (out, n) for the weight gradient
    public override int ScratchLength(int n) => Math.Max(2 * n * Out, Affine.ScratchLength(n, In, Out));

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        Affine.Forward(p[..(Out * In)], p.Slice(Out * In, Out), x, y, n, In, Out, scratch);
        Activation.Apply(y[..(n * Out)]);
    }

    /// <summary>Output o's weights times scale[o], its bias b·scale[o] + shift[o]: an affine map of the outputs folded in.</summary>
    internal void ScaleOutputs(Span<float> p, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift)
    {
        for (int o = 0; o < Out; o++)
        {
            var row = p.Slice(o * In, In);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, scale[o], row);
            p[Out * In + o] = p[Out * In + o] * scale[o] + shift[o];
        }
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        var dzBuf = scratch[..(n * Out)];
        ReadOnlySpan<float> dz = dy[..(n * Out)];
        if (Activation != Activation.None) { Activation.Backward(y[..(n * Out)], dz, dzBuf); dz = dzBuf; }
        Affine.Backward(p[..(Out * In)], x, dz, dx, dp[..(Out * In)], dp.Slice(Out * In, Out), n, In, Out, scratch.Slice(n * Out, n * Out));
    }
}
