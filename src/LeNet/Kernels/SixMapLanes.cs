// A convolution from six unpadded input maps (LeNet-5's conv2 and C3: 16 maps of 10x10 from 6 of
// 14x14), sixteen samples at a time, one sample per vector lane: every position of every map then
// fills whole vectors, where vectors over positions of one sample leave lanes idle or multiply zeros.
//
// The forward pass:
//     y[s][co][oy][ox] = f(b[co] + Σ_ci Σ_(ky,kx) w[co][ci][ky][kx] · x[s][ci][oy + ky][ox + kx])
// with x laid sample-minor, xS[y][x][ci][s]: a tile of three output positions (in row-major order,
// so they may span two rows) × eight maps keeps 24 vectors in registers over every input map and
// kernel offset, with three loads of x and eight broadcast weights per 24 FMAs; the last tile overlaps
// the one before. The sums go to yS[co][position][s] and are transposed into y.
//
// The input gradient:
//     dx[s][ci][y][x] = Σ_(ky,kx) Σ_co w[co][ci][ky][kx] · dz[s][co][y − ky][x − kx]
// dz is first laid sample-minor, dzS[y][x + 2][co][s], with two zero columns on each side; a tile of
// three dx positions of one row keeps its six maps' sums (18 vectors of 16 samples) in registers over
// every kernel offset and output map, with one broadcast weight per six FMAs. The kernel rows are
// exactly those whose dz row exists, and the kernel columns those that meet any of the tile's three
// positions, the others reading the zero columns: 18,000 FMAs per sample against the 15,000 of the
// definition. (Vectors over positions of one sample instead would multiply the zeros of dz's
// 14-wide grid: 26,900.) The tiles' sums go to dxS[ci][y][x][s] and are transposed into dx.
//
// The weight gradient:
//     dW[co][ci][ky][kx] = Σ_s Σ_(oy,ox) dz[s][co][oy][ox] · x[s][ci][oy + ky][ox + kx]
// with x laid sample-minor too, xS[y][x][ci][s]: for each kernel offset, a tile of four output maps
// × six input maps keeps 24 vectors of per-lane sums over the output positions, each step two whole
// vectors multiplied (no broadcasts): the product's 15,000 FMAs per sample and no more. The per-lane
// sums are kept per weight over the groups of a call and summed across lanes at the end, sixteen
// weights at a time by a butterfly of shuffles (one Vector512.Sum per weight cost 10% of the
// product). Lanes past the group's samples are zero in both layouts.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LeNet.Kernels;

public static class SixMapLanes
{
    public const int Maps = 6;
    /// <summary>Samples at a time: one per lane.</summary>
    public const int Lanes = 16;
    const int Tile = 3;
    const int Border = Tile - 1;

    /// <summary>Floats of dz laid sample-minor (<see cref="Lay"/>).</summary>
    public static int LaidLength(int cout, int oh, int ow) => oh * (ow + 2 * Border) * cout * Lanes;

    /// <summary>Floats of the sums before their transpose into dx, and of x laid sample-minor.</summary>
    public static int SumsLength(int h, int w) => Maps * h * w * Lanes;

    /// <summary>
    /// xS[y][x][ci][s] = x[s·inSize + ci·h·w + y·w + x] for samples s &lt; count; the other lanes zero.
    /// </summary>
    public static void LayInput(ReadOnlySpan<float> x, int count, int inSize, int plane, Span<float> xS)
    {
        if (count < Lanes) xS[..(Maps * plane * Lanes)].Clear();
        for (int ci = 0; ci < Maps; ci++)
            Gemm.Transpose(count, plane, x[(ci * plane)..], inSize, xS[(ci * Lanes)..], Maps * Lanes);
    }

    // The zeros of dz laid sample-minor: the two border columns of each row, and every lane past the group's samples.
    static void ClearLaid(int count, int cout, int oh, int ow, Span<float> dzS)
    {
        int pw = ow + 2 * Border, position = cout * Lanes;
        if (count < Lanes) { dzS[..LaidLength(cout, oh, ow)].Clear(); return; }
        for (int r = 0; r < oh; r++)
        {
            dzS.Slice(r * pw * position, Border * position).Clear();
            dzS.Slice((r * pw + Border + ow) * position, Border * position).Clear();
        }
    }

    /// <summary>
    /// dzS[y][x + 2][co][s] = dz[s·outSize + (co·oh + y)·ow + x] for samples s &lt; count, the other
    /// lanes and the two columns on each side zero.
    /// </summary>
    public static void Lay(ReadOnlySpan<float> dz, int count, int outSize, int cout, int oh, int ow, Span<float> dzS)
    {
        int pw = ow + 2 * Border, position = cout * Lanes;
        ClearLaid(count, cout, oh, ow, dzS);
        for (int y = 0; y < oh; y++)
        {
            for (int co = 0; co < cout; co++)
                Gemm.Transpose(count, ow, dz[((co * oh + y) * ow)..], outSize, dzS[(((y * pw + Border) * cout + co) * Lanes)..], position);
        }
    }

    /// <summary>
    /// <see cref="Lay"/> of relu's gradient, dz = y &gt; 0 ? dy : 0, taken on the way (no compact dz is
    /// formed), and the bias gradient: db[co] += Σ dz over the samples and positions. Blocks of eight
    /// samples × eight positions of a row go through registers and one 8×8 transpose; a row's last
    /// block overlaps the one before (its repeated positions left out of the sums). Rows of at least 8.
    /// </summary>
    public static unsafe void LayReluGradient(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int count, int outSize, int cout, int oh, int ow,
        Span<float> dzS, Span<float> db)
    {
        int pw = ow + 2 * Border, position = cout * Lanes, map = oh * ow;
        if (ow < 8 || count < 1 || count > Lanes || y.Length < (count - 1) * outSize + cout * map || dy.Length < (count - 1) * outSize + cout * map
            || dzS.Length < LaidLength(cout, oh, ow) || db.Length < cout)
            throw new ArgumentException("SixMapLanes: rows shorter than 8, or a buffer too short.");
        ClearLaid(count, cout, oh, ow, dzS);
        int last = ow - 8, whole = ow & ~7;
        // The last block's lanes that an earlier block already counted.
        var fresh = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(whole - last)).AsSingle();
        fixed (float* Y = y, DY = dy, D = dzS)
            for (int co = 0; co < cout; co++)
            {
                var sum = Vector256<float>.Zero;
                for (int s0 = 0; s0 < count; s0 += 8)
                    for (int r = 0; r < oh; r++)
                        for (int x0 = 0; x0 < ow; x0 += 8)
                        {
                            if (x0 > last) x0 = last;
                            int at = s0 * outSize + co * map + r * ow + x0;
                            var r0 = Relu(Y, DY, at, 0, s0, count, outSize); var r1 = Relu(Y, DY, at, 1, s0, count, outSize);
                            var r2 = Relu(Y, DY, at, 2, s0, count, outSize); var r3 = Relu(Y, DY, at, 3, s0, count, outSize);
                            var r4 = Relu(Y, DY, at, 4, s0, count, outSize); var r5 = Relu(Y, DY, at, 5, s0, count, outSize);
                            var r6 = Relu(Y, DY, at, 6, s0, count, outSize); var r7 = Relu(Y, DY, at, 7, s0, count, outSize);
                            var t = (r0 + r1) + (r2 + r3) + ((r4 + r5) + (r6 + r7));
                            sum += x0 == last && (ow & 7) != 0 ? t & fresh : t;
                            // dzS[((r·pw + x0 + j + 2)·cout + co)·16 + s0 + i] = r_i[j]
                            Gemm.StoreTransposed8x8(D + ((r * pw + x0 + Border) * cout + co) * Lanes + s0, position, r0, r1, r2, r3, r4, r5, r6, r7);
                            if (x0 == last) break;
                        }
                db[co] += Vector256.Sum(sum);
            }

        static Vector256<float> Relu(float* y, float* dy, int at, int i, int s0, int count, int outSize)
        {
            if (s0 + i >= count) return Vector256<float>.Zero;
            int o = at + i * outSize;
            return Vector256.ConditionalSelect(Vector256.GreaterThan(Avx.LoadVector256(y + o), Vector256<float>.Zero), Avx.LoadVector256(dy + o), Vector256<float>.Zero);
        }
    }

    /// <summary>
    /// The sums dxS[ci][y][x][s] (6 maps of h×w) from dz laid by <see cref="Lay"/> and
    /// wT[(ky·k + kx)·6·cout + ci·cout + co] = w[co][ci][ky][kx]; h = oh + k − 1, w = ow + k − 1.
    /// </summary>
    public static void Compute(ReadOnlySpan<float> dzS, ReadOnlySpan<float> wT, int cout, int k, int oh, int ow, Span<float> dxS)
    {
        int h = oh + k - 1, w = ow + k - 1, pw = ow + 2 * Border;
        if (dzS.Length < LaidLength(cout, oh, ow) || dxS.Length < SumsLength(h, w) || wT.Length < k * k * Maps * cout)
            throw new ArgumentException("SixMapLanes: a buffer is too short.");
        ref float d = ref Unsafe.AsRef(in dzS[0]);
        ref float wt = ref Unsafe.AsRef(in wT[0]);
        ref float o = ref dxS[0];
        for (int y = 0; y < h; y++)
        {
            int kyFrom = Math.Max(0, y - (oh - 1)), kyTo = Math.Min(k - 1, y);
            for (int x0 = 0; x0 < w; x0 += Tile)
                Tile3(ref d, ref wt, cout, k, pw, y, x0, kyFrom, kyTo, Math.Max(0, x0 - (ow - 1)), Math.Min(k - 1, x0 + Tile - 1),
                    Math.Min(Tile, w - x0), ref Unsafe.Add(ref o, (y * w + x0) * Lanes), h * w * Lanes);
        }
    }

    // Three positions (x0, x0 + 1, x0 + 2 of row y) × 6 maps: 18 accumulators; per (offset, output
    // map) three loads of dz and six broadcast weights for 18 FMAs. Stores the first `store` positions.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile3(ref float dzS, ref float wT, int cout, int k, int pw, int y, int x0, int kyFrom, int kyTo, int kxFrom, int kxTo,
        int store, ref float o, int map)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        nuint p1 = (nuint)(cout * Lanes), p2 = 2 * p1;
        nint c1o = cout, c2o = 2 * c1o, c3o = 3 * c1o, c4o = 4 * c1o, c5o = 5 * c1o;
        for (int ky = kyFrom; ky <= kyTo; ky++)
            for (int kx = kxFrom; kx <= kxTo; kx++)
            {
                ref float d = ref Unsafe.Add(ref dzS, ((y - ky) * pw + x0 + Border - kx) * cout * Lanes);
                ref float w = ref Unsafe.Add(ref wT, (ky * k + kx) * Maps * cout);
                ref float end = ref Unsafe.Add(ref w, cout);
                for (; Unsafe.IsAddressLessThan(ref w, ref end); w = ref Unsafe.Add(ref w, 1), d = ref Unsafe.Add(ref d, Lanes))
                {
                    var u = Vector512.LoadUnsafe(ref d);
                    var v = Vector512.LoadUnsafe(ref d, p1);
                    var t = Vector512.LoadUnsafe(ref d, p2);
                    var x = Vector512.Create(w);
                    a0 = Vector512.FusedMultiplyAdd(x, u, a0); b0 = Vector512.FusedMultiplyAdd(x, v, b0); c0 = Vector512.FusedMultiplyAdd(x, t, c0);
                    x = Vector512.Create(Unsafe.Add(ref w, c1o));
                    a1 = Vector512.FusedMultiplyAdd(x, u, a1); b1 = Vector512.FusedMultiplyAdd(x, v, b1); c1 = Vector512.FusedMultiplyAdd(x, t, c1);
                    x = Vector512.Create(Unsafe.Add(ref w, c2o));
                    a2 = Vector512.FusedMultiplyAdd(x, u, a2); b2 = Vector512.FusedMultiplyAdd(x, v, b2); c2 = Vector512.FusedMultiplyAdd(x, t, c2);
                    x = Vector512.Create(Unsafe.Add(ref w, c3o));
                    a3 = Vector512.FusedMultiplyAdd(x, u, a3); b3 = Vector512.FusedMultiplyAdd(x, v, b3); c3 = Vector512.FusedMultiplyAdd(x, t, c3);
                    x = Vector512.Create(Unsafe.Add(ref w, c4o));
                    a4 = Vector512.FusedMultiplyAdd(x, u, a4); b4 = Vector512.FusedMultiplyAdd(x, v, b4); c4 = Vector512.FusedMultiplyAdd(x, t, c4);
                    x = Vector512.Create(Unsafe.Add(ref w, c5o));
                    a5 = Vector512.FusedMultiplyAdd(x, u, a5); b5 = Vector512.FusedMultiplyAdd(x, v, b5); c5 = Vector512.FusedMultiplyAdd(x, t, c5);
                }
            }
        nuint m = (nuint)map;
        a0.StoreUnsafe(ref o); a1.StoreUnsafe(ref o, m); a2.StoreUnsafe(ref o, 2 * m);
        a3.StoreUnsafe(ref o, 3 * m); a4.StoreUnsafe(ref o, 4 * m); a5.StoreUnsafe(ref o, 5 * m);
        if (store < 2) return;
        b0.StoreUnsafe(ref o, Lanes); b1.StoreUnsafe(ref o, m + Lanes); b2.StoreUnsafe(ref o, 2 * m + Lanes);
        b3.StoreUnsafe(ref o, 3 * m + Lanes); b4.StoreUnsafe(ref o, 4 * m + Lanes); b5.StoreUnsafe(ref o, 5 * m + Lanes);
        if (store < 3) return;
        c0.StoreUnsafe(ref o, 2 * Lanes); c1.StoreUnsafe(ref o, m + 2 * Lanes); c2.StoreUnsafe(ref o, 2 * m + 2 * Lanes);
        c3.StoreUnsafe(ref o, 3 * m + 2 * Lanes); c4.StoreUnsafe(ref o, 4 * m + 2 * Lanes); c5.StoreUnsafe(ref o, 5 * m + 2 * Lanes);
    }

    /// <summary>Floats of the forward pass's output before its transpose into y.</summary>
    public static int OutputLength(int cout, int oh, int ow) => cout * oh * ow * Lanes;

    /// <summary>
    /// yS[co][oy·ow + ox][s] = f(bias[co] + Σ w[co·6·k² + ci·k² + ky·k + kx] · xS[((oy + ky)·w + ox + kx)·6 + ci][s]),
    /// f = relu or the identity, from x laid by <see cref="LayInput"/> (w = ow + k − 1 columns); cout a multiple of 8.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> xS, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, bool relu, int cout, int k, int oh, int ow, Span<float> yS)
    {
        int w = ow + k - 1, h = oh + k - 1, positions = oh * ow;
        if (cout % 8 != 0 || positions < Tile || xS.Length < SumsLength(h, w) || weights.Length < cout * Maps * k * k || bias.Length < cout || yS.Length < OutputLength(cout, oh, ow))
            throw new ArgumentException("SixMapLanes: a buffer is too short, or the output maps are not a multiple of eight.");
        ref float x = ref Unsafe.AsRef(in xS[0]);
        ref float wt = ref Unsafe.AsRef(in weights[0]);
        ref float b = ref Unsafe.AsRef(in bias[0]);
        ref float o = ref yS[0];
        for (int co = 0; co < cout; co += 8)
            for (int p = 0; p < positions; p += Tile)
            {
                int p0 = Math.Min(p, positions - Tile);
                ForwardTile(ref x, w, ow, k, p0, ref Unsafe.Add(ref wt, co * Maps * k * k), ref Unsafe.Add(ref b, co), relu,
                    ref Unsafe.Add(ref o, (co * positions + p0) * Lanes), positions * Lanes);
            }
    }

    // Output positions p0, p0 + 1, p0 + 2 × 8 maps: 24 accumulators started at the bias; per input map
    // and kernel offset three loads of x and eight broadcast weights.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ForwardTile(ref float xS, int w, int ow, int k, int p0, ref float weights, ref float bias, bool relu, ref float o, int map)
    {
        const int XPosition = Maps * Lanes;
        int kk = Maps * k * k;
        ref float x0 = ref Unsafe.Add(ref xS, (p0 / ow * w + p0 % ow) * XPosition);
        ref float x1 = ref Unsafe.Add(ref xS, ((p0 + 1) / ow * w + (p0 + 1) % ow) * XPosition);
        ref float x2 = ref Unsafe.Add(ref xS, ((p0 + 2) / ow * w + (p0 + 2) % ow) * XPosition);
        Vector512<float> a0 = Vector512.Create(bias), a1 = Vector512.Create(Unsafe.Add(ref bias, 1)), a2 = Vector512.Create(Unsafe.Add(ref bias, 2)),
            a3 = Vector512.Create(Unsafe.Add(ref bias, 3)), a4 = Vector512.Create(Unsafe.Add(ref bias, 4)), a5 = Vector512.Create(Unsafe.Add(ref bias, 5)),
            a6 = Vector512.Create(Unsafe.Add(ref bias, 6)), a7 = Vector512.Create(Unsafe.Add(ref bias, 7));
        Vector512<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5, b6 = a6, b7 = a7;
        Vector512<float> c0 = a0, c1 = a1, c2 = a2, c3 = a3, c4 = a4, c5 = a5, c6 = a6, c7 = a7;
        nint m1 = kk, m2 = 2 * m1, m3 = 3 * m1, m4 = 4 * m1, m5 = 5 * m1, m6 = 6 * m1, m7 = 7 * m1;
        ref float t = ref weights;
        for (int ci = 0; ci < Maps; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++, t = ref Unsafe.Add(ref t, 1))
                {
                    nuint at = (nuint)(((ky * w + kx) * Maps + ci) * Lanes);
                    var u = Vector512.LoadUnsafe(ref x0, at);
                    var v = Vector512.LoadUnsafe(ref x1, at);
                    var z = Vector512.LoadUnsafe(ref x2, at);
                    var c = Vector512.Create(t);
                    a0 = Vector512.FusedMultiplyAdd(u, c, a0); b0 = Vector512.FusedMultiplyAdd(v, c, b0); c0 = Vector512.FusedMultiplyAdd(z, c, c0);
                    c = Vector512.Create(Unsafe.Add(ref t, m1));
                    a1 = Vector512.FusedMultiplyAdd(u, c, a1); b1 = Vector512.FusedMultiplyAdd(v, c, b1); c1 = Vector512.FusedMultiplyAdd(z, c, c1);
                    c = Vector512.Create(Unsafe.Add(ref t, m2));
                    a2 = Vector512.FusedMultiplyAdd(u, c, a2); b2 = Vector512.FusedMultiplyAdd(v, c, b2); c2 = Vector512.FusedMultiplyAdd(z, c, c2);
                    c = Vector512.Create(Unsafe.Add(ref t, m3));
                    a3 = Vector512.FusedMultiplyAdd(u, c, a3); b3 = Vector512.FusedMultiplyAdd(v, c, b3); c3 = Vector512.FusedMultiplyAdd(z, c, c3);
                    c = Vector512.Create(Unsafe.Add(ref t, m4));
                    a4 = Vector512.FusedMultiplyAdd(u, c, a4); b4 = Vector512.FusedMultiplyAdd(v, c, b4); c4 = Vector512.FusedMultiplyAdd(z, c, c4);
                    c = Vector512.Create(Unsafe.Add(ref t, m5));
                    a5 = Vector512.FusedMultiplyAdd(u, c, a5); b5 = Vector512.FusedMultiplyAdd(v, c, b5); c5 = Vector512.FusedMultiplyAdd(z, c, c5);
                    c = Vector512.Create(Unsafe.Add(ref t, m6));
                    a6 = Vector512.FusedMultiplyAdd(u, c, a6); b6 = Vector512.FusedMultiplyAdd(v, c, b6); c6 = Vector512.FusedMultiplyAdd(z, c, c6);
                    c = Vector512.Create(Unsafe.Add(ref t, m7));
                    a7 = Vector512.FusedMultiplyAdd(u, c, a7); b7 = Vector512.FusedMultiplyAdd(v, c, b7); c7 = Vector512.FusedMultiplyAdd(z, c, c7);
                }
        if (relu)
        {
            var zero = Vector512<float>.Zero;
            a0 = Vector512.Max(a0, zero); a1 = Vector512.Max(a1, zero); a2 = Vector512.Max(a2, zero); a3 = Vector512.Max(a3, zero);
            a4 = Vector512.Max(a4, zero); a5 = Vector512.Max(a5, zero); a6 = Vector512.Max(a6, zero); a7 = Vector512.Max(a7, zero);
            b0 = Vector512.Max(b0, zero); b1 = Vector512.Max(b1, zero); b2 = Vector512.Max(b2, zero); b3 = Vector512.Max(b3, zero);
            b4 = Vector512.Max(b4, zero); b5 = Vector512.Max(b5, zero); b6 = Vector512.Max(b6, zero); b7 = Vector512.Max(b7, zero);
            c0 = Vector512.Max(c0, zero); c1 = Vector512.Max(c1, zero); c2 = Vector512.Max(c2, zero); c3 = Vector512.Max(c3, zero);
            c4 = Vector512.Max(c4, zero); c5 = Vector512.Max(c5, zero); c6 = Vector512.Max(c6, zero); c7 = Vector512.Max(c7, zero);
        }
        Put3(ref o, a0, b0, c0); Put3(ref Unsafe.Add(ref o, map), a1, b1, c1); Put3(ref Unsafe.Add(ref o, 2 * map), a2, b2, c2);
        Put3(ref Unsafe.Add(ref o, 3 * map), a3, b3, c3); Put3(ref Unsafe.Add(ref o, 4 * map), a4, b4, c4); Put3(ref Unsafe.Add(ref o, 5 * map), a5, b5, c5);
        Put3(ref Unsafe.Add(ref o, 6 * map), a6, b6, c6); Put3(ref Unsafe.Add(ref o, 7 * map), a7, b7, c7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put3(ref float o, Vector512<float> a, Vector512<float> b, Vector512<float> c)
    {
        a.StoreUnsafe(ref o); b.StoreUnsafe(ref o, Lanes); c.StoreUnsafe(ref o, 2 * Lanes);
    }

    /// <summary>Floats of the weight gradient's per-lane sums (<see cref="WeightGradient"/>).</summary>
    public static int LaneSumsLength(int cout, int k) => cout * Maps * k * k * Lanes;

    /// <summary>
    /// The weight gradient's per-lane sums over the group's output positions, from dz and x laid by
    /// <see cref="Lay"/> and <see cref="LayInput"/>: sums[(co·6·k² + ci·k² + ky·k + kx)·16 + lane],
    /// stored by the first group and added to by the next (<paramref name="first"/>);
    /// <see cref="AddLaneSums"/> then sums the lanes into dW.
    /// </summary>
    public static void WeightGradient(ReadOnlySpan<float> dzS, ReadOnlySpan<float> xS, int cout, int k, int oh, int ow, Span<float> sums, bool first)
    {
        int w = ow + k - 1, h = oh + k - 1, pw = ow + 2 * Border, kk2 = k * k;
        if (cout % 4 != 0 || dzS.Length < LaidLength(cout, oh, ow) || xS.Length < SumsLength(h, w) || sums.Length < LaneSumsLength(cout, k))
            throw new ArgumentException("SixMapLanes: a buffer is too short or the output maps are not a multiple of four.");
        ref float d = ref Unsafe.AsRef(in dzS[0]);
        ref float x = ref Unsafe.AsRef(in xS[0]);
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
                for (int co = 0; co < cout; co += 4)
                    WeightTile(ref Unsafe.Add(ref d, (Border * cout + co) * Lanes), ref Unsafe.Add(ref x, (ky * w + kx) * Maps * Lanes),
                        cout, oh, ow, pw, w, ref sums[(co * Maps * kk2 + ky * k + kx) * Lanes], kk2 * Lanes, first);
    }

    /// <summary>dW[i] += the sum of the 16 lanes of sums[i·16 ..], for i &lt; count: sixteen weights at a time by a butterfly of shuffles.</summary>
    public static void AddLaneSums(ReadOnlySpan<float> sums, Span<float> dW, int count)
    {
        if (sums.Length < count * Lanes || dW.Length < count) throw new ArgumentException("SixMapLanes: a buffer is too short.");
        ref float s = ref Unsafe.AsRef(in sums[0]);
        ref float d = ref dW[0];
        int i = 0;
        // Where the butterfly leaves vector v's sum: lane 4·(v mod 4) + v / 4.
        var order = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        for (; i + 16 <= count; i += 16)
        {
            ref float v = ref Unsafe.Add(ref s, i * Lanes);
            var t0 = Fold128(ref v, 0); var t1 = Fold128(ref v, 2); var t2 = Fold128(ref v, 4); var t3 = Fold128(ref v, 6);
            var t4 = Fold128(ref v, 8); var t5 = Fold128(ref v, 10); var t6 = Fold128(ref v, 12); var t7 = Fold128(ref v, 14);
            // u.q[r] = the four partial sums of vector 4j + r.
            var u0 = Avx512F.Shuffle4x128(t0, t1, 0x88) + Avx512F.Shuffle4x128(t0, t1, 0xDD);
            var u1 = Avx512F.Shuffle4x128(t2, t3, 0x88) + Avx512F.Shuffle4x128(t2, t3, 0xDD);
            var u2 = Avx512F.Shuffle4x128(t4, t5, 0x88) + Avx512F.Shuffle4x128(t4, t5, 0xDD);
            var u3 = Avx512F.Shuffle4x128(t6, t7, 0x88) + Avx512F.Shuffle4x128(t6, t7, 0xDD);
            var w0 = Avx512F.Shuffle(u0, u1, 0x44) + Avx512F.Shuffle(u0, u1, 0xEE);
            var w1 = Avx512F.Shuffle(u2, u3, 0x44) + Avx512F.Shuffle(u2, u3, 0xEE);
            var z = Avx512F.Shuffle(w0, w1, 0x88) + Avx512F.Shuffle(w0, w1, 0xDD);
            (Vector512.LoadUnsafe(ref d, (nuint)i) + Avx512F.PermuteVar16x32(z, order)).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < count; i++) Unsafe.Add(ref d, i) += Vector512.Sum(Vector512.LoadUnsafe(ref s, (nuint)(i * Lanes)));
    }

    // Vectors j and j + 1 folded to half: their 128-bit quarters 0 + 2 and 1 + 3, j's in the low half.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Fold128(ref float v, int j)
    {
        var a = Vector512.LoadUnsafe(ref v, (nuint)(j * Lanes));
        var b = Vector512.LoadUnsafe(ref v, (nuint)((j + 1) * Lanes));
        return Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);
    }

    // Four output maps × six input maps at one kernel offset: 24 accumulators of per-lane sums over the
    // output positions; per position four loads of dz and six of x for 24 FMAs. Sums of map j and
    // input map ci go to sums + j·6·stride + ci·stride (stride: k²·16).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void WeightTile(ref float dz, ref float x, int cout, int oh, int ow, int pw, int w, ref float sums, int stride, bool first)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default;
        nuint dzPosition = (nuint)(cout * Lanes);
        const nuint XPosition = Maps * Lanes;
        for (int oy = 0; oy < oh; oy++)
        {
            ref float dp = ref Unsafe.Add(ref dz, oy * pw * (int)dzPosition);
            ref float xp = ref Unsafe.Add(ref x, oy * w * (int)XPosition);
            for (int ox = 0; ox < ow; ox++, dp = ref Unsafe.Add(ref dp, dzPosition), xp = ref Unsafe.Add(ref xp, XPosition))
            {
                var p = Vector512.LoadUnsafe(ref dp);
                var q = Vector512.LoadUnsafe(ref dp, Lanes);
                var r = Vector512.LoadUnsafe(ref dp, 2 * Lanes);
                var t = Vector512.LoadUnsafe(ref dp, 3 * Lanes);
                var v = Vector512.LoadUnsafe(ref xp);
                a0 = Vector512.FusedMultiplyAdd(p, v, a0); b0 = Vector512.FusedMultiplyAdd(q, v, b0); c0 = Vector512.FusedMultiplyAdd(r, v, c0); e0 = Vector512.FusedMultiplyAdd(t, v, e0);
                v = Vector512.LoadUnsafe(ref xp, Lanes);
                a1 = Vector512.FusedMultiplyAdd(p, v, a1); b1 = Vector512.FusedMultiplyAdd(q, v, b1); c1 = Vector512.FusedMultiplyAdd(r, v, c1); e1 = Vector512.FusedMultiplyAdd(t, v, e1);
                v = Vector512.LoadUnsafe(ref xp, 2 * Lanes);
                a2 = Vector512.FusedMultiplyAdd(p, v, a2); b2 = Vector512.FusedMultiplyAdd(q, v, b2); c2 = Vector512.FusedMultiplyAdd(r, v, c2); e2 = Vector512.FusedMultiplyAdd(t, v, e2);
                v = Vector512.LoadUnsafe(ref xp, 3 * Lanes);
                a3 = Vector512.FusedMultiplyAdd(p, v, a3); b3 = Vector512.FusedMultiplyAdd(q, v, b3); c3 = Vector512.FusedMultiplyAdd(r, v, c3); e3 = Vector512.FusedMultiplyAdd(t, v, e3);
                v = Vector512.LoadUnsafe(ref xp, 4 * Lanes);
                a4 = Vector512.FusedMultiplyAdd(p, v, a4); b4 = Vector512.FusedMultiplyAdd(q, v, b4); c4 = Vector512.FusedMultiplyAdd(r, v, c4); e4 = Vector512.FusedMultiplyAdd(t, v, e4);
                v = Vector512.LoadUnsafe(ref xp, 5 * Lanes);
                a5 = Vector512.FusedMultiplyAdd(p, v, a5); b5 = Vector512.FusedMultiplyAdd(q, v, b5); c5 = Vector512.FusedMultiplyAdd(r, v, c5); e5 = Vector512.FusedMultiplyAdd(t, v, e5);
            }
        }
        int m = Maps * stride;
        Put6(ref sums, stride, first, a0, a1, a2, a3, a4, a5);
        Put6(ref Unsafe.Add(ref sums, m), stride, first, b0, b1, b2, b3, b4, b5);
        Put6(ref Unsafe.Add(ref sums, 2 * m), stride, first, c0, c1, c2, c3, c4, c5);
        Put6(ref Unsafe.Add(ref sums, 3 * m), stride, first, e0, e1, e2, e3, e4, e5);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put6(ref float s, int stride, bool first, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, Vector512<float> v4, Vector512<float> v5)
    {
        nuint st = (nuint)stride;
        if (!first)
        {
            v0 += Vector512.LoadUnsafe(ref s); v1 += Vector512.LoadUnsafe(ref s, st); v2 += Vector512.LoadUnsafe(ref s, 2 * st);
            v3 += Vector512.LoadUnsafe(ref s, 3 * st); v4 += Vector512.LoadUnsafe(ref s, 4 * st); v5 += Vector512.LoadUnsafe(ref s, 5 * st);
        }
        v0.StoreUnsafe(ref s); v1.StoreUnsafe(ref s, st); v2.StoreUnsafe(ref s, 2 * st);
        v3.StoreUnsafe(ref s, 3 * st); v4.StoreUnsafe(ref s, 4 * st); v5.StoreUnsafe(ref s, 5 * st);
    }
}
