// The forward pass with output positions as the GEMM's rows, for output maps that fill whole 512-bit
// vectors (LeNet-5's second convolution: 16). Positions are gathered from the padded input through a
// table and multiplied by the transposed weights, one vector of 16 maps per weight; the grid's unused
// columns are skipped and the bias and relu taken in registers. The result is transposed back to maps.
using System.Buffers;

namespace LeNet.Kernels;

public sealed class PositionMajorConvolution(ConvolutionShape shape) : ConvolutionKernel(shape)
{
    public override string Name => "position-major";

    public override int ScratchLength(int n)
    {
        int c = Chunk(n);
        return RoundUp(S.InMaps * c * G + SlackX) + RoundUp(c * S.OutHeight * S.OutWidth * S.OutMaps) + S.PatchSize * S.OutMaps + Simd.AlignmentSlack;
    }

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        int chunk = Chunk(n), g = G, wp = Wp, oh = S.OutHeight, ow = S.OutWidth, positions = oh * ow, outSize = S.OutputSize, kk = S.PatchSize, cout = S.OutMaps;
        int tableLength = kk + chunk * positions;
        int[]? rented = tableLength > 4096 ? ArrayPool<int>.Shared.Rent(tableLength) : null;
        Span<int> tables = rented is null ? stackalloc int[tableLength] : rented.AsSpan(0, tableLength);
        Span<int> cols = tables[..kk], rows = tables[kk..];
        int paddedLength = RoundUp(S.InMaps * chunk * g + SlackX), productLength = RoundUp(chunk * positions * cout);
        var padded = scratch[..paddedLength];
        var product = scratch.Slice(paddedLength, productLength);   // (position, map)
        var wT = scratch.Slice(paddedLength + productLength, kk * cout);
        Gemm.Transpose(cout, kk, w, kk, wT);
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            RowTable(cols, S.InMaps, S.K, cn * g, wp, 0);
            for (int s = 0, r = 0; s < cn; s++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) rows[r++] = s * g + oy * wp + ox;
            Gemm.MultiplyGathered(cn * positions, cout, kk, padded, rows, cols, wT, cout, b, relu, product, cout);
            for (int s = 0; s < cn; s++)
                Gemm.Transpose(positions, cout, product[(s * positions * cout)..], cout, y.Slice((s0 + s) * outSize, outSize));
        }
        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
    }
}
