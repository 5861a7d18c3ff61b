// A convolution whose kernel covers its whole input (1×1 output, no padding): the dot product of each
// output map's weights with the flattened sample, which is a dense layer (LeNet-5's conv3 and C5).

namespace LeNet.Kernels;

public sealed class DenseConvolution(ConvolutionShape shape) : ConvolutionKernel(shape)
{
    public override string Name => "dense";

    public override int ScratchLength(int n) => Math.Max(n * S.OutMaps, Affine.ScratchLength(n, S.PatchSize, S.OutMaps)) + Simd.AlignmentSlack;

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        Affine.Forward(w, b, x, y, n, S.PatchSize, S.OutMaps, Simd.Aligned(scratch));
        if (relu) Activations.Relu(y[..(n * S.OutMaps)]);
    }

    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> gradient,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch) =>
        Affine.Backward(w, x, gradient, dx, dW, db, n, S.PatchSize, S.OutMaps, Simd.Aligned(scratch)[..(n * S.OutMaps)]);
}
