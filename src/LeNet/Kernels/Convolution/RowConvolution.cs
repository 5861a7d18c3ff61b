// A first layer's convolution (one input map, 5×5 kernels) below 512 bits, written once over the
// vector width: vectors run along an output row, so the image needs no sample-per-lane layout, and
// the output and its gradient stay in the layer's own layout. Tiles are sized for 16 vector
// registers (AVX2, SSE), which also fit ARM64's 32:
//   forward          4 vectors of a row × 3 maps: 12 accumulators; per kernel tap 4 loads of the
//                    padded input and 3 broadcast weights for 12 multiply-adds. A row of ow outputs
//                    takes ⌈ow / L⌉ vectors, the last starting at ow − L (its overlap recomputes
//                    the same sums).
//   weight gradient  per sample, the output gradient (relu's gradient taken on the way) is laid in
//                    rows of whole vectors, zero past ow; then for each kernel row, 2 maps × the 5
//                    taps of the row: 10 accumulators, per vector of dz 2 loads of dz and 5 of the
//                    input for 10 multiply-adds. Per-lane sums are added up at the end.
// The 512-bit kernels for the same layers are SingleMapRows; a layer that needs an input gradient
// (never a first layer) gets its backward pass from LaneConvolution or the implicit GEMM.
using System.Runtime.CompilerServices;

namespace LeNet.Kernels;

public sealed class RowConvolution<V>(ConvolutionShape shape) : ConvolutionKernel(shape) where V : struct, IVector<V>
{
    const int Maps = 3, Vectors = 4, GradientMaps = 2;

    /// <summary>One input map, 5×5 kernels, rows of at least one vector.</summary>
    public static bool Covers(ConvolutionShape s) => s.InMaps == 1 && s.K == 5 && !s.IsDense && s.OutWidth >= V.Count;

    public override string Name => $"one input map, rows of {V.Count}";
    public override bool TakesReluGradient => true;

    static int L => V.Count;
    /// <summary>Vectors per output row, and the width of a row of laid dz.</summary>
    readonly int RowVectors = VectorsIn(shape.OutWidth), DzRow = VectorsIn(shape.OutWidth) * V.Count;
    static int VectorsIn(int width) => (width + V.Count - 1) / V.Count;
    int DzLength => S.OutMaps * S.OutHeight * DzRow;
    int SumsLength => S.PatchSize * S.OutMaps * L;
    // The weight gradient's reads of the padded input run past a plane by less than a vector (lanes
    // that meet dz's zero columns), within the cleared slack that PadInput leaves after the planes.
    int PaddedLength(int n) => RoundUp(Chunk(n) * G + SlackX);
    // 1 in the lanes of a row's last vector that lie past its whole vectors, 0 in those that repeat them.
    readonly float[] _tailLanes = [.. Enumerable.Range(0, V.Count).Select(i => i >= V.Count - shape.OutWidth % V.Count ? 1f : 0f)];

    // Scratch: padded input of a chunk | laid dz of one sample | per-lane weight-gradient sums.
    public override int ScratchLength(int n) => PaddedLength(n) + RoundUp(DzLength) + RoundUp(SumsLength) + Simd.AlignmentSlack;

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        int chunk = Chunk(n), g = G, outSize = S.OutputSize, cout = S.OutMaps, oh = S.OutHeight, rv = RowVectors, wp = Wp;
        var padded = scratch[..PaddedLength(n)];
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            for (int s = 0; s < cn; s++)
            {
                ref float ys = ref y[(s0 + s) * outSize];
                for (int co = 0; co < cout; co += Maps)
                    for (int oy = 0; oy < oh; oy++)
                        for (int j = 0; j < rv; j += Vectors)
                            ForwardTile(ref padded[s * g + oy * wp], w, b, co, Math.Min(Maps, cout - co), j, relu, ref ys, oy);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int Start(int j) => Math.Min(j * L, S.OutWidth - L);

    void ForwardTile(ref float row, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int co, int maps, int j, bool relu, ref float y, int oy)
    {
        int kk = S.PatchSize, wp = Wp, map = S.OutHeight * S.OutWidth;
        int m1 = Math.Min(1, maps - 1), m2 = Math.Min(2, maps - 1);   // a short tile repeats its last map and keeps only its own
        nuint x0 = (nuint)Start(j), x1 = (nuint)Start(j + 1), x2 = (nuint)Start(j + 2), x3 = (nuint)Start(j + 3);
        ref float w0 = ref Unsafe.AsRef(in weights[co * kk]);
        ref float w1 = ref Unsafe.Add(ref w0, m1 * kk), w2 = ref Unsafe.Add(ref w0, m2 * kk);
        V a0 = V.Create(bias[co]), a1 = V.Create(bias[co + m1]), a2 = V.Create(bias[co + m2]);
        V b0 = a0, b1 = a1, b2 = a2, c0 = a0, c1 = a1, c2 = a2, d0 = a0, d1 = a1, d2 = a2;
        for (int ky = 0, t = 0; ky < 5; ky++, row = ref Unsafe.Add(ref row, wp))
            for (int kx = 0; kx < 5; kx++, t++)
            {
                V g0 = V.Create(Unsafe.Add(ref w0, t)), g1 = V.Create(Unsafe.Add(ref w1, t)), g2 = V.Create(Unsafe.Add(ref w2, t));
                ref float r = ref Unsafe.Add(ref row, kx);
                V u = V.Load(ref r, x0);
                V.Accumulate(ref a0, u, g0); V.Accumulate(ref a1, u, g1); V.Accumulate(ref a2, u, g2);
                u = V.Load(ref r, x1);
                V.Accumulate(ref b0, u, g0); V.Accumulate(ref b1, u, g1); V.Accumulate(ref b2, u, g2);
                u = V.Load(ref r, x2);
                V.Accumulate(ref c0, u, g0); V.Accumulate(ref c1, u, g1); V.Accumulate(ref c2, u, g2);
                u = V.Load(ref r, x3);
                V.Accumulate(ref d0, u, g0); V.Accumulate(ref d1, u, g1); V.Accumulate(ref d2, u, g2);
            }
        if (relu)
        {
            a0 = V.Max(a0, V.Zero); a1 = V.Max(a1, V.Zero); a2 = V.Max(a2, V.Zero);
            b0 = V.Max(b0, V.Zero); b1 = V.Max(b1, V.Zero); b2 = V.Max(b2, V.Zero);
            c0 = V.Max(c0, V.Zero); c1 = V.Max(c1, V.Zero); c2 = V.Max(c2, V.Zero);
            d0 = V.Max(d0, V.Zero); d1 = V.Max(d1, V.Zero); d2 = V.Max(d2, V.Zero);
        }
        // Vectors past the row's last repeat it (Start clamps), as do maps past the tile's last.
        ref float o = ref Unsafe.Add(ref y, co * map + oy * S.OutWidth);
        StoreMaps(ref o, x0, map, maps, a0, a1, a2);
        StoreMaps(ref o, x1, map, maps, b0, b1, b2);
        StoreMaps(ref o, x2, map, maps, c0, c1, c2);
        StoreMaps(ref o, x3, map, maps, d0, d1, d2);
    }

    static void StoreMaps(ref float o, nuint at, int map, int maps, V m0, V m1, V m2)
    {
        V.Store(m0, ref o, at);
        if (maps > 1) V.Store(m1, ref o, at + (nuint)map);
        if (maps > 2) V.Store(m2, ref o, at + 2 * (nuint)map);
    }

    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> gradient,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch)
    {
        if (!dx.IsEmpty) throw new NotSupportedException($"{Name} computes the weight gradient of a first layer only.");
        scratch = Simd.Aligned(scratch);
        int outSize = S.OutputSize, oh = S.OutHeight, ow = S.OutWidth, map = oh * ow, kk = S.PatchSize, chunk = Chunk(n), g = G, cout = S.OutMaps;
        int dzMap = oh * DzRow, wp = Wp, paddedLength = PaddedLength(n);
        var padded = scratch[..paddedLength];
        var dz = scratch.Slice(paddedLength, DzLength);
        var sums = scratch.Slice(paddedLength + RoundUp(DzLength), SumsLength);
        sums.Clear();
        dz.Clear();   // the columns past ow stay zero
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            for (int s = 0; s < cn; s++)
            {
                int at = (s0 + s) * outSize;
                for (int co = 0; co < cout; co++)
                    db[co] += LayGradient(reluOutput.IsEmpty ? gradient.Slice(at + co * map, map) : reluOutput.Slice(at + co * map, map),
                        gradient.Slice(at + co * map, map), dz.Slice(co * dzMap, dzMap), reluOutput.IsEmpty);
                for (int ky = 0; ky < 5; ky++)
                    for (int co = 0; co < cout; co += GradientMaps)
                        WeightTile(ref padded[s * g + ky * wp], ref dz[0], ref sums[0], co, Math.Min(GradientMaps, cout - co), ky);
            }
        }
        for (int r = 0; r < kk; r++)
            for (int co = 0; co < cout; co++) dW[co * kk + r] += V.Sum(V.Load(ref sums[0], (nuint)((r * cout + co) * L)));
    }

    /// <summary>
    /// One map's dz into rows of DzRow: dz = y &gt; 0 ? dy : 0 (or dy itself when it already is dz),
    /// returning its sum for the bias gradient. When ow is not a multiple of the width, a row's last
    /// vector ends at ow, overlapping the one before (a scalar tail's branch on y would mispredict),
    /// and only its lanes past the whole vectors join the sum, picked by 0/1 weights (reading them
    /// back from the laid row would wait on the store: a load that only partly overlaps a store
    /// cannot take its data from it).
    /// </summary>
    float LayGradient(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> laid, bool plain)
    {
        int ow = S.OutWidth, oh = S.OutHeight, dzRow = DzRow;
        nuint l = (nuint)L, whole = (nuint)(ow / L * L), last = (nuint)(ow - L);
        V sum = V.Zero, tail = V.Load(ref _tailLanes[0], 0);
        ref float Y = ref Unsafe.AsRef(in y[0]);
        ref float DY = ref Unsafe.AsRef(in dy[0]);
        ref float D = ref laid[0];
        for (int oy = 0; oy < oh; oy++, Y = ref Unsafe.Add(ref Y, ow), DY = ref Unsafe.Add(ref DY, ow), D = ref Unsafe.Add(ref D, dzRow))
        {
            for (nuint i = 0; i < whole; i += l)
            {
                var v = plain ? V.Load(ref DY, i) : V.WherePositive(V.Load(ref Y, i), V.Load(ref DY, i));
                V.Store(v, ref D, i);
                sum += v;
            }
            if (whole == (nuint)ow) continue;
            var t = plain ? V.Load(ref DY, last) : V.WherePositive(V.Load(ref Y, last), V.Load(ref DY, last));
            V.Store(t, ref D, last);
            V.Accumulate(ref sum, t, tail);
        }
        return V.Sum(sum);
    }

    // Per-lane sums of dW[co + m][ky][kx] for the 5 taps of kernel row ky, over one sample's dz.
    void WeightTile(ref float x, ref float dz, ref float sums, int co, int maps, int ky)
    {
        int oh = S.OutHeight, rv = RowVectors, wp = Wp, dzRow = DzRow, cout = S.OutMaps;
        nuint second = (nuint)(Math.Min(1, maps - 1) * oh * dzRow);   // a lone last map repeats itself
        V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero, a4 = V.Zero, b0 = V.Zero, b1 = V.Zero, b2 = V.Zero, b3 = V.Zero, b4 = V.Zero;
        ref float d = ref Unsafe.Add(ref dz, co * oh * dzRow);
        for (int oy = 0; oy < oh; oy++, x = ref Unsafe.Add(ref x, wp), d = ref Unsafe.Add(ref d, dzRow))
            for (int j = 0; j < rv; j++)
            {
                nuint c = (nuint)(j * L);
                V p = V.Load(ref d, c), q = V.Load(ref d, c + second);
                V u = V.Load(ref x, c);
                V.Accumulate(ref a0, u, p); V.Accumulate(ref b0, u, q);
                u = V.Load(ref x, c + 1);
                V.Accumulate(ref a1, u, p); V.Accumulate(ref b1, u, q);
                u = V.Load(ref x, c + 2);
                V.Accumulate(ref a2, u, p); V.Accumulate(ref b2, u, q);
                u = V.Load(ref x, c + 3);
                V.Accumulate(ref a3, u, p); V.Accumulate(ref b3, u, q);
                u = V.Load(ref x, c + 4);
                V.Accumulate(ref a4, u, p); V.Accumulate(ref b4, u, q);
            }
        // Tap (ky, kx) of map m goes to sums[((ky·5 + kx)·cout + m)·L].
        nuint tap = (nuint)(cout * L), at = (nuint)((ky * 5 * cout + co) * L);
        Add(ref sums, at, a0); Add(ref sums, at + tap, a1); Add(ref sums, at + 2 * tap, a2); Add(ref sums, at + 3 * tap, a3); Add(ref sums, at + 4 * tap, a4);
        if (maps < 2) return;
        at += (nuint)L;
        Add(ref sums, at, b0); Add(ref sums, at + tap, b1); Add(ref sums, at + 2 * tap, b2); Add(ref sums, at + 3 * tap, b3); Add(ref sums, at + 4 * tap, b4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Add(ref float s, nuint at, V v) => V.Store(V.Load(ref s, at) + v, ref s, at);
}
