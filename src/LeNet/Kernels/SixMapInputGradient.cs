// The input gradient of a convolution onto six unpadded input maps (LeNet-5's conv2 and C3: 16 maps
// of 10x10 from 6 of 14x14), sixteen samples at a time, one sample per vector lane:
//     dx[s][ci][y][x] = Σ_(ky,kx) Σ_co w[co][ci][ky][kx] · dz[s][co][y − ky][x − kx]
// dz is first laid sample-minor, dzS[y][x + 2][co][s], with two zero columns on each side; a tile of
// three dx positions of one row keeps its six maps' sums (18 vectors of 16 samples) in registers over
// every kernel offset and output map, with one broadcast weight per six FMAs. The kernel rows are
// exactly those whose dz row exists, and the kernel columns those that meet any of the tile's three
// positions, the others reading the zero columns: 18,000 FMAs per sample against the 15,000 of the
// definition. (Vectors over positions of one sample instead would multiply the zeros of dz's
// 14-wide grid: 26,900.) The tiles' sums go to dxS[ci][y][x][s] and are transposed into dx.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LeNet.Kernels;

internal static class SixMapInputGradient
{
    public const int Maps = 6;
    /// <summary>Samples at a time: one per lane.</summary>
    public const int Lanes = 16;
    const int Tile = 3;
    const int Border = Tile - 1;

    /// <summary>Whether the 512-bit kernel applies: six input maps.</summary>
    public static bool Covers(int inputMaps) => inputMaps == Maps && Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated;

    /// <summary>Floats of dz laid sample-minor (<see cref="Lay"/>).</summary>
    public static int LaidLength(int cout, int oh, int ow) => oh * (ow + 2 * Border) * cout * Lanes;

    /// <summary>Floats of the sums before their transpose into dx.</summary>
    public static int SumsLength(int h, int w) => Maps * h * w * Lanes;

    /// <summary>
    /// dzS[y][x + 2][co][s] = dz[s·outSize + (co·oh + y)·ow + x] for samples s &lt; count (the other
    /// lanes keep whatever they held: lanes never mix), the two columns on each side zero.
    /// </summary>
    public static void Lay(ReadOnlySpan<float> dz, int count, int outSize, int cout, int oh, int ow, Span<float> dzS)
    {
        int pw = ow + 2 * Border, position = cout * Lanes;
        for (int y = 0; y < oh; y++)
        {
            dzS.Slice(y * pw * position, Border * position).Clear();
            dzS.Slice((y * pw + Border + ow) * position, Border * position).Clear();
            for (int co = 0; co < cout; co++)
                Gemm.Transpose(count, ow, dz[((co * oh + y) * ow)..], outSize, dzS[(((y * pw + Border) * cout + co) * Lanes)..], position);
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
            throw new ArgumentException("SixMapInputGradient: a buffer is too short.");
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
}
