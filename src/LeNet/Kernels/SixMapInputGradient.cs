// The input gradient of a convolution onto six unpadded input maps (LeNet-5's conv2 and C3: 16 maps
// of 10x10 from 6 of 14x14), written straight into dx. Each tile of dx positions keeps its six maps'
// sums in registers over every kernel offset and output map, and is stored once:
//     dx[ci][p] = Σ_(ky,kx) Σ_co w[co][ci][ky][kx] · dz[co][p − ky·wp − kx]
// where dz lies on the input's grid (rows of wp = w floats, zeros past the output's rows and
// columns). A lane whose shifted position falls outside the output reads one of those zeros, the zero
// tail of the previous sample, or the zeros the caller keeps before the first sample; offsets whose dz
// rows the whole tile misses are skipped. The transposed-scatter form (one product per offset, its
// stores adding into dx shifted by the offset) multiplies fewer zeros but reads and writes dx once per
// offset.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LeNet.Kernels;

internal static class SixMapInputGradient
{
    public const int Maps = 6;

    /// <summary>Whether the 512-bit kernel applies: six input maps, planes of at least one vector.</summary>
    public static bool Covers(int inputMaps, int plane) =>
        inputMaps == Maps && plane >= 16 && Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated;

    /// <summary>Floats before a sample's first dz plane that the shifted reads may touch (they must be zeros).</summary>
    public static int Lead(int k, int wp) => (k - 1) * wp + k - 1;

    /// <summary>
    /// dx (6 planes of <paramref name="plane"/> floats, rows of wp) of one sample from dz on the grid
    /// (<paramref name="cout"/> planes <paramref name="dzMap"/> floats apart, output rows 0..oh−1) and
    /// wT[(ky·k + kx)·6·cout + ci·cout + co] = w[co][ci][ky][kx].
    /// </summary>
    public static void Compute(ref float dz, int dzMap, ref float wT, int cout, int k, int wp, int oh, int plane, ref float dx)
    {
        int p0 = 0;
        for (; p0 + 48 <= plane; p0 += 48) Tile48(ref dz, dzMap, ref wT, cout, k, wp, oh, plane, p0, ref dx);
        for (; p0 + 16 <= plane; p0 += 16) Tile16(ref dz, dzMap, ref wT, cout, k, wp, oh, plane, p0, ref dx);
        // The last positions as a vector that overlaps the one before: its lanes get the same sums.
        if (p0 < plane) Tile16(ref dz, dzMap, ref wT, cout, k, wp, oh, plane, plane - 16, ref dx);
    }

    // The kernel rows whose dz rows positions [p0, p0 + width) meet: dz row y − ky within 0..oh−1.
    static (int From, int To) KernelRows(int p0, int width, int k, int wp, int oh) =>
        (Math.Max(0, p0 / wp - (oh - 1)), Math.Min(k - 1, (p0 + width - 1) / wp));

    // 48 positions (three vectors) × 6 maps: 18 accumulators; per (offset, output map) three loads of
    // dz and six broadcast weights for 18 FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile48(ref float dz, int dzMap, ref float wT, int cout, int k, int wp, int oh, int plane, int p0, ref float dx)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        var (from, to) = KernelRows(p0, 48, k, wp, oh);
        nint step = dzMap;
        nint c1o = cout, c2o = 2 * c1o, c3o = 3 * c1o, c4o = 4 * c1o, c5o = 5 * c1o;
        for (int ky = from; ky <= to; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                ref float d = ref Unsafe.Add(ref dz, p0 - ky * wp - kx);
                ref float w = ref Unsafe.Add(ref wT, (ky * k + kx) * Maps * cout);
                ref float end = ref Unsafe.Add(ref w, cout);
                for (; Unsafe.IsAddressLessThan(ref w, ref end); w = ref Unsafe.Add(ref w, 1), d = ref Unsafe.Add(ref d, step))
                {
                    var u = Vector512.LoadUnsafe(ref d);
                    var v = Vector512.LoadUnsafe(ref d, 16);
                    var t = Vector512.LoadUnsafe(ref d, 32);
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
        ref float o = ref Unsafe.Add(ref dx, p0);
        nuint pl = (nuint)plane;
        a0.StoreUnsafe(ref o); b0.StoreUnsafe(ref o, 16); c0.StoreUnsafe(ref o, 32);
        a1.StoreUnsafe(ref o, pl); b1.StoreUnsafe(ref o, pl + 16); c1.StoreUnsafe(ref o, pl + 32);
        a2.StoreUnsafe(ref o, 2 * pl); b2.StoreUnsafe(ref o, 2 * pl + 16); c2.StoreUnsafe(ref o, 2 * pl + 32);
        a3.StoreUnsafe(ref o, 3 * pl); b3.StoreUnsafe(ref o, 3 * pl + 16); c3.StoreUnsafe(ref o, 3 * pl + 32);
        a4.StoreUnsafe(ref o, 4 * pl); b4.StoreUnsafe(ref o, 4 * pl + 16); c4.StoreUnsafe(ref o, 4 * pl + 32);
        a5.StoreUnsafe(ref o, 5 * pl); b5.StoreUnsafe(ref o, 5 * pl + 16); c5.StoreUnsafe(ref o, 5 * pl + 32);
    }

    // 16 positions × 6 maps: the planes' last positions.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile16(ref float dz, int dzMap, ref float wT, int cout, int k, int wp, int oh, int plane, int p0, ref float dx)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        var (from, to) = KernelRows(p0, 16, k, wp, oh);
        nint step = dzMap;
        for (int ky = from; ky <= to; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                ref float d = ref Unsafe.Add(ref dz, p0 - ky * wp - kx);
                ref float w = ref Unsafe.Add(ref wT, (ky * k + kx) * Maps * cout);
                for (int co = 0; co < cout; co++, w = ref Unsafe.Add(ref w, 1), d = ref Unsafe.Add(ref d, step))
                {
                    var u = Vector512.LoadUnsafe(ref d);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(w), u, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref w, cout)), u, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref w, 2 * cout)), u, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref w, 3 * cout)), u, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref w, 4 * cout)), u, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref w, 5 * cout)), u, a5);
                }
            }
        ref float o = ref Unsafe.Add(ref dx, p0);
        nuint pl = (nuint)plane;
        a0.StoreUnsafe(ref o); a1.StoreUnsafe(ref o, pl); a2.StoreUnsafe(ref o, 2 * pl);
        a3.StoreUnsafe(ref o, 3 * pl); a4.StoreUnsafe(ref o, 4 * pl); a5.StoreUnsafe(ref o, 5 * pl);
    }
}
