// A convolution that reads one input map (a network's first layer: 6 or 30 maps from the image) with
// output maps in sixes and output rows of 17 to 32: direct row kernels (SingleMapRows) for the
// forward pass and, as a first layer needs no input gradient, for the weight gradient alone.
// The weight gradient goes sample by sample, so the sample's output gradient, its padded input and
// the accumulators stay in L1 while every tap and map goes over them; vector partial sums per
// (tap, map) are summed at the end.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace LeNet.Kernels;

public sealed class SingleMapConvolution(ConvolutionShape shape) : ConvolutionKernel(shape)
{
    /// <summary>Whether the row kernels cover this shape (they are 512-bit).</summary>
    public static bool Covers(ConvolutionShape shape) => shape.InMaps == 1 && !shape.IsDense && SingleMapRows.Covers(shape.OutMaps, shape.OutWidth);

    public override string Name => "one input map";
    public override bool TakesReluGradient => true;

    const int Lanes = 16;

    // Scratch: padded input of a chunk | per-lane sums for every (tap, map) | one sample's dz.
    int PaddedLength(int n) => RoundUp(Chunk(n) * G + SlackX);
    int SumsLength => RoundUp(S.PatchSize * S.OutMaps * Lanes);
    public override int ScratchLength(int n) => PaddedLength(n) + SumsLength + RoundUp(S.OutputSize + 16) + Simd.AlignmentSlack;

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        int chunk = Chunk(n), g = G, outSize = S.OutputSize, kk = S.PatchSize, map = S.OutHeight * S.OutWidth;
        var padded = scratch[..PaddedLength(n)];
        ref float W = ref Unsafe.AsRef(in w[0]);
        ref float B = ref Unsafe.AsRef(in b[0]);
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            for (int s = 0; s < cn; s++)
            {
                var ys = y.Slice((s0 + s) * outSize, outSize);
                for (int co = 0; co < S.OutMaps; co += SingleMapRows.Maps)
                    SingleMapRows.Forward6(ref padded[s * g], Wp, S.K, S.OutHeight, S.OutWidth, ref Unsafe.Add(ref W, co * kk),
                        ref Unsafe.Add(ref B, co), relu, ref ys[co * map]);
            }
        }
    }

    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> gradient,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch)
    {
        if (!dx.IsEmpty) throw new NotSupportedException($"{Name} computes the weight gradient of a first layer only.");
        scratch = Simd.Aligned(scratch);
        int outSize = S.OutputSize, oh = S.OutHeight, ow = S.OutWidth, map = oh * ow, kk = S.PatchSize, chunk = Chunk(n), g = G, cout = S.OutMaps;
        int paddedLength = PaddedLength(n);
        var padded = scratch[..paddedLength];
        var acc = scratch.Slice(paddedLength, kk * cout * Lanes);
        var dz = scratch.Slice(paddedLength + SumsLength, outSize);
        acc.Clear();
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            for (int s = 0; s < cn; s++)
            {
                int at = (s0 + s) * outSize;
                if (!reluOutput.IsEmpty)
                    for (int co = 0; co < cout; co++)
                        db[co] += ReluGradientAndSum(reluOutput.Slice(at + co * map, map), gradient.Slice(at + co * map, map), dz.Slice(co * map, map));
                else
                {
                    gradient.Slice(at, outSize).CopyTo(dz);
                    for (int co = 0; co < cout; co++) db[co] += TensorPrimitives.Sum(dz.Slice(co * map, map));
                }
                if (S.K == 5)
                    SingleMapRows.WeightGradient5x5(ref padded[s * g], g, 1, Wp, oh, ow, ref dz[0], ow, outSize, map, ref acc[0], cout);
                else
                    for (int co = 0; co < cout; co += SingleMapRows.Maps)
                        SingleMapRows.WeightGradient6(ref padded[s * g], Wp, S.K, oh, ow, ref dz[co * map], ow, map, ref acc[co * Lanes], cout);
            }
        }
        for (int r = 0; r < kk; r++)
            for (int co = 0; co < cout; co++) dW[co * kk + r] += TensorPrimitives.Sum(acc.Slice((r * cout + co) * Lanes, Lanes));
    }

    /// <summary>dz = y &gt; 0 ? dy : 0 over one map, returning the sum of dz.</summary>
    static float ReluGradientAndSum(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        ref float Y = ref Unsafe.AsRef(in y[0]);
        ref float DY = ref Unsafe.AsRef(in dy[0]);
        ref float D = ref dz[0];
        nuint i = 0, n = (nuint)y.Length;
        float sum = 0;
        if (Simd.Allows(SimdWidth.V512)) sum += Lanes512.Sum(ReluSum<Lanes512>(ref Y, ref DY, ref D, ref i, n));
        if (Simd.Allows(SimdWidth.V256)) sum += Lanes256.Sum(ReluSum<Lanes256>(ref Y, ref DY, ref D, ref i, n));
        return sum + Lanes1.Sum(ReluSum<Lanes1>(ref Y, ref DY, ref D, ref i, n));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static V ReluSum<V>(ref float y, ref float dy, ref float dz, ref nuint i, nuint n) where V : struct, IVector<V>
    {
        var sum = V.Zero;
        for (; i + (nuint)V.Count <= n; i += (nuint)V.Count)
        {
            var v = V.WherePositive(V.Load(ref y, i), V.Load(ref dy, i));
            V.Store(v, ref dz, i);
            sum += v;
        }
        return sum;
    }
}
