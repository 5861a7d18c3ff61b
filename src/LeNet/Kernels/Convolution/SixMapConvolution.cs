// A convolution from six unpadded input maps (LeNet-5's conv2 and the paper's C3: 16 maps of 10x10
// from 6 of 14x14), sixteen samples at a time, one per 512-bit lane (SixMapLanes): x and dz are laid
// sample-minor, so every position of every map fills whole vectors, with no padded input, no dz grid
// and no transposed dz. Worth it from eight samples on; a few samples alone would pay for sixteen.
// The forward pass needs output maps in eights, the backward pass in fours.

namespace LeNet.Kernels;

public sealed class SixMapConvolution(ConvolutionShape shape) : ConvolutionKernel(shape)
{
    public override string Name => "six input maps";
    // Relu's gradient is taken while dz is laid out, eight positions of a row at a time.
    public override bool TakesReluGradient => S.OutWidth >= 8;

    const int Lanes = SixMapLanes.Lanes;

    // Scratch: offset-major weights | dz laid sample-minor (or the forward pass's sums) | x laid
    // sample-minor (then the input gradient's sums) | the weight gradient's per-lane sums.
    int WeightsLength => RoundUp(S.K * S.K * S.InMaps * S.OutMaps);
    int LaidLength => RoundUp(Math.Max(SixMapLanes.LaidLength(S.OutMaps, S.OutHeight, S.OutWidth), SixMapLanes.OutputLength(S.OutMaps, S.OutHeight, S.OutWidth)));
    int InputLength => RoundUp(SixMapLanes.SumsLength(S.Height, S.Width));
    int LaneSumsLength => RoundUp(SixMapLanes.LaneSumsLength(S.OutMaps, S.K));
    public override int ScratchLength(int n) => WeightsLength + LaidLength + InputLength + LaneSumsLength + Simd.AlignmentSlack;

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        int outSize = S.OutputSize, inSize = S.InputSize;
        var sums = scratch.Slice(WeightsLength, LaidLength);
        var laid = scratch.Slice(WeightsLength + LaidLength, InputLength);
        for (int s0 = 0; s0 < n; s0 += Lanes)
        {
            int count = Math.Min(Lanes, n - s0);
            SixMapLanes.LayInput(x[(s0 * inSize)..], count, inSize, S.Height * S.Width, laid);
            SixMapLanes.Forward(laid, w, b, relu, S.OutMaps, S.K, S.OutHeight, S.OutWidth, sums);
            Gemm.Transpose(outSize, count, sums, Lanes, y[(s0 * outSize)..], outSize);
        }
    }

    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> gradient,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        int oh = S.OutHeight, ow = S.OutWidth, cout = S.OutMaps, map = oh * ow, outSize = S.OutputSize, inSize = S.InputSize;
        var wT = scratch[..(S.K * S.K * S.InMaps * cout)];
        var dzS = scratch.Slice(WeightsLength, LaidLength);
        var laid = scratch.Slice(WeightsLength + LaidLength, InputLength);
        var laneSums = scratch.Slice(WeightsLength + LaidLength + InputLength, LaneSumsLength);
        bool needDx = !dx.IsEmpty;
        if (needDx) OffsetMajorWeights(w, wT);
        for (int s0 = 0; s0 < n; s0 += Lanes)
        {
            int count = Math.Min(Lanes, n - s0);
            if (!reluOutput.IsEmpty) SixMapLanes.LayReluGradient(reluOutput[(s0 * outSize)..], gradient[(s0 * outSize)..], count, outSize, cout, oh, ow, dzS, db);
            else
            {
                for (int co = 0; co < cout; co++)
                    for (int s = 0; s < count; s++) db[co] += System.Numerics.Tensors.TensorPrimitives.Sum(gradient.Slice((s0 + s) * outSize + co * map, map));
                SixMapLanes.Lay(gradient[(s0 * outSize)..], count, outSize, cout, oh, ow, dzS);
            }
            SixMapLanes.LayInput(x[(s0 * inSize)..], count, inSize, S.Height * S.Width, laid);
            SixMapLanes.WeightGradient(dzS, laid, cout, S.K, oh, ow, laneSums, first: s0 == 0);
            if (!needDx) continue;
            SixMapLanes.Compute(dzS, wT, cout, S.K, oh, ow, laid);
            Gemm.Transpose(inSize, count, laid, Lanes, dx[(s0 * inSize)..], inSize);
        }
        SixMapLanes.AddLaneSums(laneSums, dW, cout * S.PatchSize);
    }
}
