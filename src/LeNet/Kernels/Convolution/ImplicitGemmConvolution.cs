// The general convolution as an implicit GEMM over chunks of the batch. The chunk's input is copied,
// zero-padded, into planes [ci][sample] of G floats. An output unit (oy, ox) is then the dot product
// of the weights with the floats at oy·Wp + ox + (ci·cn·G + ky·Wp + kx): every row of the unfolded
// matrix is a shifted view of the padded input, so the GEMM reads the input itself through a table
// of row offsets and no im2col is formed. The output is computed on a grid Wp wide (the columns past
// OutWidth are computed and dropped); the output gradient is laid on the same grid (zeros off the
// valid units). The input gradient is the transpose: for each kernel offset (ky, kx), the
// InMaps×OutMaps slice of the weights times dz, added into the padded input-gradient planes shifted
// by ky·Wp + kx (the col2im folded into the GEMM's accumulating stores). The weight gradient is one
// long dot product per weight over the chunk, or, with many output maps, (input rows)·dzᵀ.
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace LeNet.Kernels;

public sealed class ImplicitGemmConvolution : ConvolutionKernel
{
    // With 12 or more output maps the weight gradient goes as (input rows)·dzᵀ, one vector of dzᵀ
    // holding 16 maps (their count rounded up to 16 with zero columns), over each sample's grid alone:
    // the dot-product form would also run over the rows of the padded plane that have no output, and
    // reduce every vector accumulator. With fewer maps most lanes would be padding.
    const int TransposedFromMaps = 12;
    readonly bool _transposed;
    // With 512-bit vectors the transposed form takes the chunk's output positions through a table:
    // one product over all its samples, with no grid columns.
    readonly bool _gathered;

    public ImplicitGemmConvolution(ConvolutionShape shape) : base(shape)
    {
        _transposed = shape.OutMaps >= TransposedFromMaps;
        _gathered = _transposed && Simd.Allows(SimdWidth.V512);
    }

    public override string Name => "implicit GEMM";
    int CoutPadded => RoundUp(S.OutMaps);

    // Scratch: padded input (InMaps·c·G + slack) | dz on the input's grid (OutMaps·c·G) | padded dx
    // (InMaps·c·G + slack) | the GEMM's output grid (OutMaps·Pf) | offset-major weights | dzᵀ of a
    // chunk | dWᵀ. Every region starts on a whole number of vectors, so with the buffer aligned the
    // GEMMs' 16-float rows lie each on one cache line.
    readonly record struct Layout(int X, int DzGrid, int DxPad, int Out, int WT, int DzT, int DWT, int End);

    Layout LayoutFor(int n)
    {
        int c = Chunk(n), g = G;
        int dzGrid = RoundUp(S.InMaps * c * g + SlackX), dxPad = RoundUp(dzGrid + S.OutMaps * c * g), output = RoundUp(dxPad + S.InMaps * c * g + SlackX);
        int wT = RoundUp(output + S.OutMaps * Pf), dzT = RoundUp(wT + S.InMaps * S.OutMaps * S.K * S.K);
        int dwT = RoundUp(dzT + (_transposed ? c * S.OutHeight * Wp * CoutPadded : 0));
        return new Layout(0, dzGrid, dxPad, output, wT, dzT, dwT, RoundUp(dwT + (_transposed ? S.PatchSize * CoutPadded : 0)));
    }

    public override int ScratchLength(int n) => LayoutFor(n).End + Simd.AlignmentSlack;

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        var at = LayoutFor(n);
        int chunk = Chunk(n), g = G, pf = Pf, wp = Wp, oh = S.OutHeight, ow = S.OutWidth, kk = S.PatchSize, outSize = S.OutputSize, cout = S.OutMaps;
        int[]? rented = kk > 1024 ? ArrayPool<int>.Shared.Rent(kk) : null;
        Span<int> rows = rented is null ? stackalloc int[kk] : rented.AsSpan(0, kk);
        var padded = scratch[at.X..at.DzGrid];
        var output = scratch.Slice(at.Out, cout * pf);
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            RowTable(rows, S.InMaps, S.K, cn * g, wp, 0);
            for (int s = 0; s < cn; s++)
            {
                Gemm.MultiplyNNRows(cout, pf, kk, w, kk, padded[(s * g)..], rows, output, pf, accumulate: false);
                // Bias (and relu) while the sample is in cache.
                ref float o = ref output[0];
                ref float Y = ref y[(s0 + s) * outSize];
                for (int co = 0; co < cout; co++)
                    for (int oy = 0; oy < oh; oy++)
                        Rows.BiasRow(ref Unsafe.Add(ref Y, (co * oh + oy) * ow), ref Unsafe.Add(ref o, co * pf + oy * wp), b[co], ow, relu);
            }
        }
        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
    }

    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> dz,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        var at = LayoutFor(n);
        int chunk = Chunk(n), g = G, wp = Wp, pf = Pf, oh = S.OutHeight, ow = S.OutWidth, h = S.Height, wd = S.Width, map = oh * ow;
        int kk = S.PatchSize, kk2 = S.K * S.K, cin = S.InMaps, cout = S.OutMaps, cinCout = cin * cout, outSize = S.OutputSize, inSize = S.InputSize;
        int[]? rented = kk + cout > 1024 ? ArrayPool<int>.Shared.Rent(kk + cout) : null;
        Span<int> all = rented is null ? stackalloc int[kk + cout] : rented.AsSpan(0, kk + cout);
        Span<int> rows = all[..kk], dzRows = all[kk..];
        int positionCount = _gathered ? chunk * oh * wp : 0;
        int[]? rentedPositions = positionCount > 4096 ? ArrayPool<int>.Shared.Rent(positionCount) : null;
        Span<int> positions = rentedPositions is null ? stackalloc int[positionCount] : rentedPositions.AsSpan(0, positionCount);
        var padded = scratch[at.X..at.DzGrid];
        var dzGrid = scratch[at.DzGrid..at.DxPad];
        var dxPad = scratch[at.DxPad..at.Out];
        bool needDx = !dx.IsEmpty, needGrid = needDx || !_gathered;
        var wT = scratch.Slice(at.WT, kk2 * cinCout);
        var dzT = scratch[at.DzT..at.DWT];
        var dWT = scratch[at.DWT..at.End];
        dWT.Clear();
        if (CoutPadded != cout) dzT.Clear();   // the padding columns stay zero
        int ldT = CoutPadded;
        if (needDx) OffsetMajorWeights(w, wT);
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0), len = cn * g;
            PadInput(x, s0, cn, padded);
            RowTable(rows, cin, S.K, len, wp, 0);
            // dz on the input's grid (zeros off the valid units), for the GEMM forms and the input
            // gradient, and the bias gradient: the sums of dz's planes.
            for (int co = 0; co < cout; co++)
                for (int s = 0; s < cn; s++)
                    db[co] += needGrid
                        ? Rows.ToGrid(ref dzGrid[(co * cn + s) * g], ref Unsafe.AsRef(in dz[(s0 + s) * outSize + co * map]), oh, ow, wp, g)
                        : TensorPrimitives.Sum(dz.Slice((s0 + s) * outSize + co * map, map));
            if (_gathered)
            {
                // The whole chunk in one product over its samples' output positions (not the grid's
                // unused columns), so the accumulators stay in registers from the first sample to the
                // last. dzᵀ comes from the compact dz, a sample (maps × positions) at a time.
                int r = 0;
                for (int s = 0; s < cn; s++)
                {
                    Gemm.Transpose(cout, map, dz[((s0 + s) * outSize)..], map, dzT[(s * map * ldT)..], ldT);
                    for (int oy = 0; oy < oh; oy++, r += ow)
                        for (int ox = 0; ox < ow; ox++) positions[r + ox] = s * g + oy * wp + ox;
                }
                Gemm.MultiplyGathered(kk, ldT, r, padded, rows, positions, dzT, ldT, default, false, dWT, ldT, accumulate: true);
            }
            else if (_transposed)
                for (int s = 0; s < cn; s++)
                {
                    Gemm.Transpose(cout, oh * wp, dzGrid[(s * g)..], len, dzT, ldT);
                    Gemm.MultiplyRowsNN(kk, ldT, oh * wp, padded[(s * g)..], rows, dzT, ldT, dWT, ldT, accumulate: true);
                }
            else Gemm.MultiplyNTRows(cout, kk, len, dzGrid, len, padded, rows, dW, kk, accumulate: true);
            if (!needDx) continue;

            // dx: for each kernel offset, wT·dz over the sample's grid, added into the padded dx planes
            // shifted by that offset. A block of the GEMM's rows is a set of input maps (distinct
            // planes), so no two rows of one block overlap; blocks store in order.
            dxPad[..(cin * len + SlackX)].Clear();
            for (int co = 0; co < cout; co++) dzRows[co] = co * len;
            for (int s = 0; s < cn; s++)
            {
                for (int o = 0; o < kk2; o++)
                    Gemm.MultiplyNNRows(cin, pf, cout, wT[(o * cinCout)..], cout, dzGrid[(s * g)..], dzRows,
                        dxPad[(s * g + o / S.K * wp + o % S.K)..], len, accumulate: true);
                ref float d = ref dx[(s0 + s) * inSize];
                for (int ci = 0; ci < cin; ci++)
                {
                    ref float src = ref dxPad[(ci * cn + s) * g + S.Pad * wp + S.Pad];
                    for (int yy = 0; yy < h; yy++) Rows.CopyRow(ref Unsafe.Add(ref d, (ci * h + yy) * wd), ref Unsafe.Add(ref src, yy * wp), wd);
                }
            }
        }
        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        if (rentedPositions is not null) ArrayPool<int>.Shared.Return(rentedPositions);
        if (_transposed)
            for (int r = 0; r < kk; r++)
                for (int co = 0; co < cout; co++) dW[co * kk + r] += dWT[r * CoutPadded + co];
    }
}
