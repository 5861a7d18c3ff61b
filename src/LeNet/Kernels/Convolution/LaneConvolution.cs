// A convolution with one sample per vector lane, written once over the vector width (V: 4 samples at
// 128 bits, 8 at 256): x and dz are laid sample-minor, [position][map][sample], so every position of
// every map fills whole vectors whatever the map's size, and a tile of positions × maps stays in
// registers. Tiles are sized for 16 vector registers (AVX2, SSE), which also fit ARM64's 32:
//   forward          y[co][pos] = b[co] + Σ_ci,ky,kx w[co,ci,ky,kx]·xL[pos + (ky, kx)][ci]
//                    3 output positions × 4 maps: 12 accumulators, 3 loads and 4 broadcasts per 12 FMAs
//   input gradient   dx[ci][pos] = Σ_co,ky,kx w[co,ci,ky,kx]·dzL[pos − (ky, kx) + (pad, pad)][co]
//                    2 input positions of a row × 6 maps (12 accumulators, dz loaded once for six
//                    maps), then 3 positions × the last 1–3 maps, over the kernel rows whose dz row
//                    exists and the columns that meet the tile (dz laid with k − 1 zero columns on
//                    each side)
//   weight gradient  dW[co][r] = Σ_pos dzL[pos][co]·xL[pos + offset(r)], r = (ci, ky, kx)
//                    4 maps × 3 patch entries of per-lane sums, 7 loads per 12 FMAs (3 of x held, dz one
//                    at a time: 16 registers), lanes summed at the end
// Worth it once a group fills half its lanes; with fewer samples the implicit GEMM runs instead.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace LeNet.Kernels;

public sealed class LaneConvolution<V>(ConvolutionShape shape) : ConvolutionKernel(shape) where V : struct, IVector<V>
{
    /// <summary>Output maps computed together (a last tile of fewer repeats its last map and keeps only its own).</summary>
    public const int Maps = 4;
    const int Positions = 3;

    /// <summary>Whether the kernel covers a shape: at least two output maps and a tile of positions.</summary>
    public static bool Covers(ConvolutionShape s) => !s.IsDense && s.OutMaps >= 2 && s.OutHeight * s.OutWidth >= Positions && s.Width >= Positions;

    public override string Name => $"{V.Count} samples in lanes";

    static int L => V.Count;
    int E => S.K - 1;                               // zero columns on each side of laid dz
    int DzWidth => S.OutWidth + 2 * E;
    int XLength => Hp * Wp * S.InMaps * L;
    int DzLength => S.OutHeight * DzWidth * S.OutMaps * L;
    int OutLength => Math.Max(S.OutputSize, S.InputSize) * L;
    int SumsLength => S.WeightCount * L;

    // Scratch: x laid | dz laid | the output's (or the input gradient's) sums before their transpose | weight-gradient lane sums.
    public override int ScratchLength(int n) => RoundUp(XLength) + RoundUp(DzLength) + RoundUp(OutLength) + RoundUp(SumsLength) + Simd.AlignmentSlack;

    Span<float> XL(Span<float> scratch) => scratch[..XLength];
    Span<float> DzL(Span<float> scratch) => scratch.Slice(RoundUp(XLength), DzLength);
    Span<float> Sums(Span<float> scratch) => scratch.Slice(RoundUp(XLength) + RoundUp(DzLength), OutLength);
    Span<float> LaneSums(Span<float> scratch) => scratch.Slice(RoundUp(XLength) + RoundUp(DzLength) + RoundUp(OutLength), SumsLength);

    /// <summary>xL[((y·Wp + x)·Cin + ci)·L + s] = x[s, ci, y − pad, x − pad] (zero outside, and in lanes past count).</summary>
    void LayInput(ReadOnlySpan<float> x, int count, Span<float> xL)
    {
        int h = S.Height, w = S.Width, cin = S.InMaps, p = S.Pad, inSize = S.InputSize;
        if (count < L || p > 0) xL.Clear();
        for (int ci = 0; ci < cin; ci++)
            for (int iy = 0; iy < h; iy++)
                Gemm.Transpose(count, w, x[((ci * h + iy) * w)..], inSize, xL[((((iy + p) * Wp + p) * cin + ci) * L)..], cin * L);
    }

    /// <summary>dzL[((oy·DzWidth + ox + E)·Cout + co)·L + s] = dz[s, co, oy, ox], zero columns on each side and in lanes past count.</summary>
    void LayGradient(ReadOnlySpan<float> dz, int count, Span<float> dzL)
    {
        int oh = S.OutHeight, ow = S.OutWidth, cout = S.OutMaps, outSize = S.OutputSize;
        dzL.Clear();
        for (int co = 0; co < cout; co++)
            for (int oy = 0; oy < oh; oy++)
                Gemm.Transpose(count, ow, dz[((co * oh + oy) * ow)..], outSize, dzL[(((oy * DzWidth + E) * cout + co) * L)..], cout * L);
    }

    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        var xL = XL(scratch);
        var sums = Sums(scratch);
        int outSize = S.OutputSize, inSize = S.InputSize, positions = S.OutHeight * S.OutWidth, kk = S.PatchSize;
        ref float X = ref xL[0];
        ref float W = ref Unsafe.AsRef(in w[0]);
        ref float O = ref sums[0];
        Span<int> offsets = stackalloc int[kk];
        PatchOffsets(offsets);
        for (int s0 = 0; s0 < n; s0 += L)
        {
            int count = Math.Min(L, n - s0);
            LayInput(x[(s0 * inSize)..], count, xL);
            for (int co = 0; co < S.OutMaps; co += Maps)
                for (int p0 = 0; p0 < positions; p0 += Positions)
                {
                    if (p0 > positions - Positions) p0 = positions - Positions;   // the last tile overlaps the one before
                    ForwardTile(ref X, ref Unsafe.Add(ref W, co * kk), b[co..], Math.Min(Maps, S.OutMaps - co), offsets, p0, relu, ref Unsafe.Add(ref O, (co * positions + p0) * L), positions * L);
                    if (p0 == positions - Positions) break;
                }
            Gemm.Transpose(outSize, count, sums, L, y[(s0 * outSize)..], outSize);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    nuint Origin(int p) => (nuint)((p / S.OutWidth * Wp + p % S.OutWidth) * S.InMaps * L);

    /// <summary>offsets[r] = where patch entry r = (ci, ky, kx) sits in xL relative to a window's origin.</summary>
    void PatchOffsets(Span<int> offsets)
    {
        int cin = S.InMaps, k = S.K;
        for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) offsets[(ci * k + ky) * k + kx] = ((ky * Wp + kx) * cin + ci) * L;
    }

    void ForwardTile(ref float x, ref float w, ReadOnlySpan<float> bias, int maps, ReadOnlySpan<int> offsets, int p0, bool relu, ref float o, int map)
    {
        int kk = S.PatchSize;
        int m1 = Math.Min(1, maps - 1), m2 = Math.Min(2, maps - 1), m3 = Math.Min(3, maps - 1);   // a short tile repeats its last map
        ref float w1 = ref Unsafe.Add(ref w, m1 * kk), w2 = ref Unsafe.Add(ref w, m2 * kk), w3 = ref Unsafe.Add(ref w, m3 * kk);
        ref float x0 = ref Unsafe.Add(ref x, Origin(p0));
        nuint o1 = Origin(p0 + 1) - Origin(p0), o2 = Origin(p0 + 2) - Origin(p0);
        V a0 = V.Create(bias[0]), a1 = V.Create(bias[m1]), a2 = V.Create(bias[m2]), a3 = V.Create(bias[m3]);
        V b0 = a0, b1 = a1, b2 = a2, b3 = a3, c0 = a0, c1 = a1, c2 = a2, c3 = a3;
        ref int off = ref Unsafe.AsRef(in offsets[0]);
        for (int r = 0; r < kk; r++)
        {
            ref float xr = ref Unsafe.Add(ref x0, Unsafe.Add(ref off, r));
            V u = V.Load(ref xr, 0), v = V.Load(ref xr, o1), t = V.Load(ref xr, o2);
            V g = V.Create(Unsafe.Add(ref w, r));
            V.Accumulate(ref a0, u, g); V.Accumulate(ref b0, v, g); V.Accumulate(ref c0, t, g);
            g = V.Create(Unsafe.Add(ref w1, r));
            V.Accumulate(ref a1, u, g); V.Accumulate(ref b1, v, g); V.Accumulate(ref c1, t, g);
            g = V.Create(Unsafe.Add(ref w2, r));
            V.Accumulate(ref a2, u, g); V.Accumulate(ref b2, v, g); V.Accumulate(ref c2, t, g);
            g = V.Create(Unsafe.Add(ref w3, r));
            V.Accumulate(ref a3, u, g); V.Accumulate(ref b3, v, g); V.Accumulate(ref c3, t, g);
        }
        if (relu)
        {
            a0 = V.Max(a0, V.Zero); a1 = V.Max(a1, V.Zero); a2 = V.Max(a2, V.Zero); a3 = V.Max(a3, V.Zero);
            b0 = V.Max(b0, V.Zero); b1 = V.Max(b1, V.Zero); b2 = V.Max(b2, V.Zero); b3 = V.Max(b3, V.Zero);
            c0 = V.Max(c0, V.Zero); c1 = V.Max(c1, V.Zero); c2 = V.Max(c2, V.Zero); c3 = V.Max(c3, V.Zero);
        }
        nuint l = (nuint)L, m = (nuint)map;
        V.Store(a0, ref o, 0); V.Store(b0, ref o, l); V.Store(c0, ref o, 2 * l);
        if (maps > 1) { V.Store(a1, ref o, m); V.Store(b1, ref o, m + l); V.Store(c1, ref o, m + 2 * l); }
        if (maps > 2) { V.Store(a2, ref o, 2 * m); V.Store(b2, ref o, 2 * m + l); V.Store(c2, ref o, 2 * m + 2 * l); }
        if (maps > 3) { V.Store(a3, ref o, 3 * m); V.Store(b3, ref o, 3 * m + l); V.Store(c3, ref o, 3 * m + 2 * l); }
    }

    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> dz,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        var xL = XL(scratch);
        var dzL = DzL(scratch);
        var sums = Sums(scratch);
        var laneSums = LaneSums(scratch);
        int outSize = S.OutputSize, inSize = S.InputSize, map = S.OutHeight * S.OutWidth, cout = S.OutMaps;
        laneSums.Clear();
        for (int s0 = 0; s0 < n; s0 += L)
        {
            int count = Math.Min(L, n - s0);
            for (int s = 0; s < count; s++)
                for (int co = 0; co < cout; co++) db[co] += TensorPrimitives.Sum(dz.Slice((s0 + s) * outSize + co * map, map));
            LayInput(x[(s0 * inSize)..], count, xL);
            LayGradient(dz[(s0 * outSize)..], count, dzL);
            WeightGradient(ref xL[0], ref dzL[0], ref laneSums[0]);
            if (dx.IsEmpty) continue;
            InputGradient(ref dzL[0], ref Unsafe.AsRef(in w[0]), ref sums[0]);
            Gemm.Transpose(inSize, count, sums, L, dx[(s0 * inSize)..], inSize);
        }
        int kk = S.PatchSize;
        for (int i = 0; i < cout * kk; i++) dW[i] += V.Sum(V.Load(ref laneSums[0], (nuint)(i * L)));
    }

    // Per-lane sums of dW[co][r] over the group's output positions, 4 maps × 3 patch entries at a time.
    void WeightGradient(ref float xL, ref float dzL, ref float laneSums)
    {
        int cout = S.OutMaps, kk = S.PatchSize;
        Span<int> offsets = stackalloc int[kk + 2];
        PatchOffsets(offsets);
        offsets[kk] = offsets[kk + 1] = offsets[kk - 1];   // a last partial tile repeats the last entry; only its own sums are kept
        int oh = S.OutHeight, ow = S.OutWidth;
        int[]? rented = oh * ow > 2048 ? System.Buffers.ArrayPool<int>.Shared.Rent(2 * oh * ow) : null;
        Span<int> positions = rented is null ? stackalloc int[2 * oh * ow] : rented.AsSpan(0, 2 * oh * ow);
        for (int oy = 0, i = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++, i += 2)
            {
                positions[i] = (oy * DzWidth + ox + E) * cout * L;
                positions[i + 1] = (oy * Wp + ox) * S.InMaps * L;
            }
        for (int co = 0; co < cout; co += Maps)
            for (int r = 0; r < kk; r += Positions)
                WeightTile(ref xL, ref dzL, positions, co, Math.Min(Maps, cout - co), offsets[r], offsets[r + 1], offsets[r + 2], ref laneSums, r, Math.Min(Positions, kk - r));
        if (rented is not null) System.Buffers.ArrayPool<int>.Shared.Return(rented);
    }

    void WeightTile(ref float xL, ref float dzL, ReadOnlySpan<int> positions, int co, int maps, int x0, int x1, int x2, ref float laneSums, int r, int entries)
    {
        int kk = S.PatchSize;
        V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero, b0 = V.Zero, b1 = V.Zero, b2 = V.Zero, b3 = V.Zero;
        V c0 = V.Zero, c1 = V.Zero, c2 = V.Zero, c3 = V.Zero;
        ref float dzAt = ref Unsafe.Add(ref dzL, co * L);
        ref float x0At = ref Unsafe.Add(ref xL, x0);
        nuint o1 = (nuint)(x1 - x0), o2 = (nuint)(x2 - x0);
        nuint g1 = (nuint)(Math.Min(1, maps - 1) * L), g2 = (nuint)(Math.Min(2, maps - 1) * L), g3 = (nuint)(Math.Min(3, maps - 1) * L);   // a short tile repeats its last map
        ref int pos = ref Unsafe.AsRef(in positions[0]);
        // One loop over the output positions, from a table of their dz and x offsets: no short row loops to leave.
        for (int i = 0, end = positions.Length; i < end; i += 2)
        {
            ref float dzr = ref Unsafe.Add(ref dzAt, Unsafe.Add(ref pos, i));
            ref float xr = ref Unsafe.Add(ref x0At, Unsafe.Add(ref pos, i + 1));
            // Three x vectors held, one dz vector at a time: 12 + 3 + 1 registers.
            V u = V.Load(ref xr, 0), v = V.Load(ref xr, o1), t = V.Load(ref xr, o2);
            V g = V.Load(ref dzr, 0);
            V.Accumulate(ref a0, g, u); V.Accumulate(ref b0, g, v); V.Accumulate(ref c0, g, t);
            g = V.Load(ref dzr, g1);
            V.Accumulate(ref a1, g, u); V.Accumulate(ref b1, g, v); V.Accumulate(ref c1, g, t);
            g = V.Load(ref dzr, g2);
            V.Accumulate(ref a2, g, u); V.Accumulate(ref b2, g, v); V.Accumulate(ref c2, g, t);
            g = V.Load(ref dzr, g3);
            V.Accumulate(ref a3, g, u); V.Accumulate(ref b3, g, v); V.Accumulate(ref c3, g, t);
        }
        AddSums(ref laneSums, co * kk + r, kk, maps, a0, a1, a2, a3);
        if (entries > 1) AddSums(ref laneSums, co * kk + r + 1, kk, maps, b0, b1, b2, b3);
        if (entries > 2) AddSums(ref laneSums, co * kk + r + 2, kk, maps, c0, c1, c2, c3);
    }

    // Inlined: a call after the loop would make the JIT store the sums still needed after it on every step.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddSums(ref float laneSums, int weight, int kk, int maps, V s0, V s1, V s2, V s3)
    {
        nuint at = (nuint)(weight * L), map = (nuint)(kk * L);
        V.Store(V.Load(ref laneSums, at) + s0, ref laneSums, at);
        if (maps > 1) V.Store(V.Load(ref laneSums, at + map) + s1, ref laneSums, at + map);
        if (maps > 2) V.Store(V.Load(ref laneSums, at + 2 * map) + s2, ref laneSums, at + 2 * map);
        if (maps > 3) V.Store(V.Load(ref laneSums, at + 3 * map) + s3, ref laneSums, at + 3 * map);
    }

    // dxL[ci][iy·W + ix][s] for every input position: 2 positions of a row × 6 maps at a time while
    // six maps are left, then 3 positions × up to 3 maps.
    void InputGradient(ref float dzL, ref float w, ref float sums)
    {
        int h = S.Height, wd = S.Width, cin = S.InMaps, six = cin / 6 * 6;
        for (int ci = 0; ci < six; ci += 6)
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ; ix += 2)
                {
                    if (ix > wd - 2) ix = wd - 2;
                    InputTile6(ref dzL, ref w, ci, iy, ix, ref sums);
                    if (ix == wd - 2) break;
                }
        for (int ci = six; ci < cin; ci += 3)
        {
            int maps = Math.Min(3, cin - ci);
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < wd; ix += Positions)
                {
                    if (ix > wd - Positions) ix = wd - Positions;
                    InputTile(ref dzL, ref w, ci, maps, iy, ix, ref sums);
                    if (ix == wd - Positions) break;
                }
        }
    }

    // Two input positions of a row × six maps: 12 accumulators; per output map and kernel offset two
    // loads of dz and six broadcast weights, so dz is read once for all six maps.
    void InputTile6(ref float dzL, ref float w, int ci, int iy, int ix, ref float sums)
    {
        int k = S.K, p = S.Pad, cout = S.OutMaps, oh = S.OutHeight, ow = S.OutWidth, kk = S.PatchSize, kk2 = k * k, dzw = DzWidth, e = E;
        int kyFrom = Math.Max(0, iy + p - oh + 1), kyTo = Math.Min(k - 1, iy + p);
        int kxFrom = Math.Max(0, ix + p - ow + 1), kxTo = Math.Min(k - 1, ix + 1 + p);
        V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero, a4 = V.Zero, a5 = V.Zero;
        V b0 = V.Zero, b1 = V.Zero, b2 = V.Zero, b3 = V.Zero, b4 = V.Zero, b5 = V.Zero;
        nuint l = (nuint)L, next = (nuint)(cout * L);
        for (int ky = kyFrom; ky <= kyTo; ky++)
        {
            int oy = iy + p - ky;
            for (int kx = kxFrom; kx <= kxTo; kx++)
            {
                nuint d = (nuint)((oy * dzw + ix + p - kx + e) * cout * L);
                ref float wc = ref Unsafe.Add(ref w, ci * kk2 + ky * k + kx);
                for (int co = 0; co < cout; co++, d += l, wc = ref Unsafe.Add(ref wc, kk))
                {
                    V u = V.Load(ref dzL, d), v = V.Load(ref dzL, d + next);
                    V g = V.Create(wc); V.Accumulate(ref a0, u, g); V.Accumulate(ref b0, v, g);
                    g = V.Create(Unsafe.Add(ref wc, kk2)); V.Accumulate(ref a1, u, g); V.Accumulate(ref b1, v, g);
                    g = V.Create(Unsafe.Add(ref wc, 2 * kk2)); V.Accumulate(ref a2, u, g); V.Accumulate(ref b2, v, g);
                    g = V.Create(Unsafe.Add(ref wc, 3 * kk2)); V.Accumulate(ref a3, u, g); V.Accumulate(ref b3, v, g);
                    g = V.Create(Unsafe.Add(ref wc, 4 * kk2)); V.Accumulate(ref a4, u, g); V.Accumulate(ref b4, v, g);
                    g = V.Create(Unsafe.Add(ref wc, 5 * kk2)); V.Accumulate(ref a5, u, g); V.Accumulate(ref b5, v, g);
                }
            }
        }
        nuint at = (nuint)(((ci * S.Height + iy) * S.Width + ix) * L), stride = (nuint)(S.Height * S.Width * L);
        V.Store(a0, ref sums, at); V.Store(b0, ref sums, at + l);
        V.Store(a1, ref sums, at + stride); V.Store(b1, ref sums, at + stride + l);
        V.Store(a2, ref sums, at + 2 * stride); V.Store(b2, ref sums, at + 2 * stride + l);
        V.Store(a3, ref sums, at + 3 * stride); V.Store(b3, ref sums, at + 3 * stride + l);
        V.Store(a4, ref sums, at + 4 * stride); V.Store(b4, ref sums, at + 4 * stride + l);
        V.Store(a5, ref sums, at + 5 * stride); V.Store(b5, ref sums, at + 5 * stride + l);
    }

    void InputTile(ref float dzL, ref float w, int ci, int maps, int iy, int ix, ref float sums)
    {
        int k = S.K, p = S.Pad, cout = S.OutMaps, oh = S.OutHeight, ow = S.OutWidth, kk = S.PatchSize, kk2 = k * k, dzw = DzWidth, e = E;
        // Kernel rows whose dz row oy = iy + p − ky exists; columns whose ox = ix + j + p − kx meets [0, ow) for some j < 3.
        int kyFrom = Math.Max(0, iy + p - oh + 1), kyTo = Math.Min(k - 1, iy + p);
        int kxFrom = Math.Max(0, ix + p - ow + 1), kxTo = Math.Min(k - 1, ix + Positions - 1 + p);
        V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, b0 = V.Zero, b1 = V.Zero, b2 = V.Zero, c0 = V.Zero, c1 = V.Zero, c2 = V.Zero;
        nuint l = (nuint)L;
        int m1 = Math.Min(1, maps - 1), m2 = Math.Min(2, maps - 1);   // repeat the last map when fewer than three
        for (int ky = kyFrom; ky <= kyTo; ky++)
        {
            int oy = iy + p - ky;
            for (int kx = kxFrom; kx <= kxTo; kx++)
            {
                nuint d = (nuint)(((oy * dzw + ix + p - kx + e) * cout) * L);
                int r = ky * k + kx;
                nuint next = (nuint)(cout * L);
                for (int co = 0; co < cout; co++, d += l)
                {
                    V u = V.Load(ref dzL, d), v = V.Load(ref dzL, d + next), t = V.Load(ref dzL, d + 2 * next);
                    ref float wc = ref Unsafe.Add(ref w, co * kk + ci * kk2 + r);
                    V g = V.Create(wc);
                    V.Accumulate(ref a0, u, g); V.Accumulate(ref b0, v, g); V.Accumulate(ref c0, t, g);
                    g = V.Create(Unsafe.Add(ref wc, m1 * kk2));
                    V.Accumulate(ref a1, u, g); V.Accumulate(ref b1, v, g); V.Accumulate(ref c1, t, g);
                    g = V.Create(Unsafe.Add(ref wc, m2 * kk2));
                    V.Accumulate(ref a2, u, g); V.Accumulate(ref b2, v, g); V.Accumulate(ref c2, t, g);
                }
            }
        }
        int plane = S.Height * S.Width;
        nuint at = (nuint)(((ci * S.Height + iy) * S.Width + ix) * L), stride = (nuint)(plane * L);
        V.Store(a0, ref sums, at); V.Store(b0, ref sums, at + l); V.Store(c0, ref sums, at + 2 * l);
        if (maps > 1) { V.Store(a1, ref sums, at + stride); V.Store(b1, ref sums, at + stride + l); V.Store(c1, ref sums, at + stride + 2 * l); }
        if (maps > 2) { V.Store(a2, ref sums, at + 2 * stride); V.Store(b2, ref sums, at + 2 * stride + l); V.Store(c2, ref sums, at + 2 * stride + 2 * l); }
    }
}
