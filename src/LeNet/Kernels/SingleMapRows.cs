// Direct kernels for a convolution that reads a single input map (every first layer of the LeNet
// family: 6 or 30 maps from the image) and whose output rows are 17 to 32 wide. An output row is
// two 512-bit vectors, the second starting at ow − 16 (overlapping the first where ow < 32), and six
// output maps go together: 12 accumulators, per kernel tap two loads of the input row and six
// broadcast weights for 12 multiply-adds. The GEMM form of such a layer multiplies a 6-row matrix,
// too few rows to keep the FMA units busy, and computes the padding columns of its grid.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LeNet.Kernels;

public static class SingleMapRows
{
    /// <summary>Maps computed together.</summary>
    public const int Maps = 6;

    /// <summary>Whether the kernels cover a layer with these output maps and output width on this machine.</summary>
    public static bool Covers(int outMaps, int outWidth) =>
        outMaps % Maps == 0 && outWidth > 16 && outWidth <= 32 && Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Six output maps of one sample: y[m, oy, ox] = f(bias[m] + Σ w[m, ky, kx]·x[(oy + ky)·wp + ox + kx]),
    /// f = relu or the identity. x is the padded input plane (row stride wp ≥ ow + k − 1), w six k×k
    /// kernels one after the other, y map m at y + m·oh·ow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward6(ref float x, int wp, int k, int oh, int ow, ref float w, ref float bias, bool relu, ref float y)
    {
        nuint second = (nuint)(ow - 16);
        int kk = k * k, map = oh * ow;
        var zero = Vector512<float>.Zero;
        for (int oy = 0; oy < oh; oy++)
        {
            Vector512<float> a0 = Vector512.Create(bias), a1 = Vector512.Create(Unsafe.Add(ref bias, 1)), a2 = Vector512.Create(Unsafe.Add(ref bias, 2)),
                a3 = Vector512.Create(Unsafe.Add(ref bias, 3)), a4 = Vector512.Create(Unsafe.Add(ref bias, 4)), a5 = Vector512.Create(Unsafe.Add(ref bias, 5));
            Vector512<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5;
            ref float row = ref Unsafe.Add(ref x, oy * wp);
            ref float t = ref w;
            for (int ky = 0; ky < k; ky++, row = ref Unsafe.Add(ref row, wp))
                for (int kx = 0; kx < k; kx++, t = ref Unsafe.Add(ref t, 1))
                {
                    var u = Vector512.LoadUnsafe(ref row, (nuint)kx);
                    var v = Vector512.LoadUnsafe(ref row, (nuint)kx + second);
                    var c = Vector512.Create(t);
                    a0 = Vector512.FusedMultiplyAdd(u, c, a0); b0 = Vector512.FusedMultiplyAdd(v, c, b0);
                    c = Vector512.Create(Unsafe.Add(ref t, kk));
                    a1 = Vector512.FusedMultiplyAdd(u, c, a1); b1 = Vector512.FusedMultiplyAdd(v, c, b1);
                    c = Vector512.Create(Unsafe.Add(ref t, 2 * kk));
                    a2 = Vector512.FusedMultiplyAdd(u, c, a2); b2 = Vector512.FusedMultiplyAdd(v, c, b2);
                    c = Vector512.Create(Unsafe.Add(ref t, 3 * kk));
                    a3 = Vector512.FusedMultiplyAdd(u, c, a3); b3 = Vector512.FusedMultiplyAdd(v, c, b3);
                    c = Vector512.Create(Unsafe.Add(ref t, 4 * kk));
                    a4 = Vector512.FusedMultiplyAdd(u, c, a4); b4 = Vector512.FusedMultiplyAdd(v, c, b4);
                    c = Vector512.Create(Unsafe.Add(ref t, 5 * kk));
                    a5 = Vector512.FusedMultiplyAdd(u, c, a5); b5 = Vector512.FusedMultiplyAdd(v, c, b5);
                }
            if (relu)
            {
                a0 = Vector512.Max(a0, zero); a1 = Vector512.Max(a1, zero); a2 = Vector512.Max(a2, zero);
                a3 = Vector512.Max(a3, zero); a4 = Vector512.Max(a4, zero); a5 = Vector512.Max(a5, zero);
                b0 = Vector512.Max(b0, zero); b1 = Vector512.Max(b1, zero); b2 = Vector512.Max(b2, zero);
                b3 = Vector512.Max(b3, zero); b4 = Vector512.Max(b4, zero); b5 = Vector512.Max(b5, zero);
            }
            // The overlapping lanes of the two vectors hold the same sums, computed in the same order.
            ref float o = ref Unsafe.Add(ref y, oy * ow);
            a0.StoreUnsafe(ref o); b0.StoreUnsafe(ref o, second);
            a1.StoreUnsafe(ref o, (nuint)map); b1.StoreUnsafe(ref o, (nuint)map + second);
            a2.StoreUnsafe(ref o, (nuint)(2 * map)); b2.StoreUnsafe(ref o, (nuint)(2 * map) + second);
            a3.StoreUnsafe(ref o, (nuint)(3 * map)); b3.StoreUnsafe(ref o, (nuint)(3 * map) + second);
            a4.StoreUnsafe(ref o, (nuint)(4 * map)); b4.StoreUnsafe(ref o, (nuint)(4 * map) + second);
            a5.StoreUnsafe(ref o, (nuint)(5 * map)); b5.StoreUnsafe(ref o, (nuint)(5 * map) + second);
        }
    }

    /// <summary>
    /// The weight gradient of six output maps from one sample, as vectors to be summed later:
    /// acc[(tap·outMaps + m)·16 + lane] += Σ_oy Σ_lanes dz[m, oy, ox]·x[(oy + ky)·wp + ox + kx] over tap
    /// (ky, kx) = (tap / k, tap mod k). dz map m of the sample is at dz + m·dzMapStride, rows dzRow apart;
    /// acc points at map 0 of the six for tap 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient6(ref float x, int wp, int k, int oh, int ow, ref float dz, int dzRow, int dzMapStride, ref float acc, int outMaps)
    {
        nuint second = (nuint)(ow - 16);
        // The second vector's first 32 − ow lanes are the first vector's last ones: masked out of it.
        var fresh = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(32 - ow)).AsSingle();
        nuint m1 = (nuint)dzMapStride, m2 = 2 * m1, m3 = 3 * m1, m4 = 4 * m1, m5 = 5 * m1;
        for (int tap = 0; tap < k * k; tap++)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
            ref float row = ref Unsafe.Add(ref x, tap / k * wp + tap % k);
            ref float d = ref dz;
            for (int oy = 0; oy < oh; oy++, row = ref Unsafe.Add(ref row, wp), d = ref Unsafe.Add(ref d, dzRow))
            {
                var u = Vector512.LoadUnsafe(ref row);
                var v = Vector512.LoadUnsafe(ref row, second) & fresh;
                a0 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref d), a0); b0 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref d, second), b0);
                a1 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref d, m1), a1); b1 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref d, m1 + second), b1);
                a2 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref d, m2), a2); b2 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref d, m2 + second), b2);
                a3 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref d, m3), a3); b3 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref d, m3 + second), b3);
                a4 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref d, m4), a4); b4 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref d, m4 + second), b4);
                a5 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref d, m5), a5); b5 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref d, m5 + second), b5);
            }
            ref float s = ref Unsafe.Add(ref acc, tap * outMaps * 16);
            Add(ref s, 0, a0 + b0); Add(ref s, 16, a1 + b1); Add(ref s, 32, a2 + b2);
            Add(ref s, 48, a3 + b3); Add(ref s, 64, a4 + b4); Add(ref s, 80, a5 + b5);
        }
    }

    /// <summary>
    /// The weight gradient of 5×5 kernels over samples whole samples, three maps and one kernel row at a
    /// time: the output gradient's two vectors of a row are loaded once for five taps, so a row costs
    /// 16 loads for 30 multiply-adds (the form above: 14 for 12), and the accumulators stay in
    /// registers from the first sample to the last. Sample s's input plane is at x + s·xSample, its
    /// map m of dz at dz + s·dzSample + m·dzMapStride; acc as in <see cref="WeightGradient6"/> for all
    /// outMaps maps (a multiple of 3).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient5x5(ref float x, int xSample, int samples, int wp, int oh, int ow,
        ref float dz, int dzRow, int dzSample, int dzMapStride, ref float acc, int outMaps)
    {
        nuint second = (nuint)(ow - 16);
        var fresh = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(32 - ow)).AsSingle();
        nuint m1 = (nuint)dzMapStride, m2 = 2 * m1;
        for (int ky = 0; ky < 5; ky++)
            for (int co = 0; co < outMaps; co += 3)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default;
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default;
                for (int s = 0; s < samples; s++)
                {
                    ref float row = ref Unsafe.Add(ref x, s * xSample + ky * wp);
                    ref float d = ref Unsafe.Add(ref dz, s * dzSample + co * dzMapStride);
                    for (int oy = 0; oy < oh; oy++, row = ref Unsafe.Add(ref row, wp), d = ref Unsafe.Add(ref d, dzRow))
                    {
                        // Maps co, co+1, co+2: the row's first vector and its fresh lanes of the second.
                        Vector512<float> p0 = Vector512.LoadUnsafe(ref d), q0 = Vector512.LoadUnsafe(ref d, second) & fresh;
                        Vector512<float> p1 = Vector512.LoadUnsafe(ref d, m1), q1 = Vector512.LoadUnsafe(ref d, m1 + second) & fresh;
                        Vector512<float> p2 = Vector512.LoadUnsafe(ref d, m2), q2 = Vector512.LoadUnsafe(ref d, m2 + second) & fresh;
                        var u = Vector512.LoadUnsafe(ref row); var v = Vector512.LoadUnsafe(ref row, second);
                        a0 = Vector512.FusedMultiplyAdd(v, q0, Vector512.FusedMultiplyAdd(u, p0, a0));
                        b0 = Vector512.FusedMultiplyAdd(v, q1, Vector512.FusedMultiplyAdd(u, p1, b0));
                        c0 = Vector512.FusedMultiplyAdd(v, q2, Vector512.FusedMultiplyAdd(u, p2, c0));
                        u = Vector512.LoadUnsafe(ref row, 1); v = Vector512.LoadUnsafe(ref row, second + 1);
                        a1 = Vector512.FusedMultiplyAdd(v, q0, Vector512.FusedMultiplyAdd(u, p0, a1));
                        b1 = Vector512.FusedMultiplyAdd(v, q1, Vector512.FusedMultiplyAdd(u, p1, b1));
                        c1 = Vector512.FusedMultiplyAdd(v, q2, Vector512.FusedMultiplyAdd(u, p2, c1));
                        u = Vector512.LoadUnsafe(ref row, 2); v = Vector512.LoadUnsafe(ref row, second + 2);
                        a2 = Vector512.FusedMultiplyAdd(v, q0, Vector512.FusedMultiplyAdd(u, p0, a2));
                        b2 = Vector512.FusedMultiplyAdd(v, q1, Vector512.FusedMultiplyAdd(u, p1, b2));
                        c2 = Vector512.FusedMultiplyAdd(v, q2, Vector512.FusedMultiplyAdd(u, p2, c2));
                        u = Vector512.LoadUnsafe(ref row, 3); v = Vector512.LoadUnsafe(ref row, second + 3);
                        a3 = Vector512.FusedMultiplyAdd(v, q0, Vector512.FusedMultiplyAdd(u, p0, a3));
                        b3 = Vector512.FusedMultiplyAdd(v, q1, Vector512.FusedMultiplyAdd(u, p1, b3));
                        c3 = Vector512.FusedMultiplyAdd(v, q2, Vector512.FusedMultiplyAdd(u, p2, c3));
                        u = Vector512.LoadUnsafe(ref row, 4); v = Vector512.LoadUnsafe(ref row, second + 4);
                        a4 = Vector512.FusedMultiplyAdd(v, q0, Vector512.FusedMultiplyAdd(u, p0, a4));
                        b4 = Vector512.FusedMultiplyAdd(v, q1, Vector512.FusedMultiplyAdd(u, p1, b4));
                        c4 = Vector512.FusedMultiplyAdd(v, q2, Vector512.FusedMultiplyAdd(u, p2, c4));
                    }
                }
                // Tap (ky, kx) of map co + j goes to acc[((ky·5 + kx)·outMaps + co + j)·16].
                ref float t = ref Unsafe.Add(ref acc, (ky * 5 * outMaps + co) * 16);
                nuint tap = (nuint)(outMaps * 16);
                Add(ref t, 0, a0); Add(ref t, 16, b0); Add(ref t, 32, c0);
                Add(ref t, tap, a1); Add(ref t, tap + 16, b1); Add(ref t, tap + 32, c1);
                Add(ref t, 2 * tap, a2); Add(ref t, 2 * tap + 16, b2); Add(ref t, 2 * tap + 32, c2);
                Add(ref t, 3 * tap, a3); Add(ref t, 3 * tap + 16, b3); Add(ref t, 3 * tap + 32, c3);
                Add(ref t, 4 * tap, a4); Add(ref t, 4 * tap + 16, b4); Add(ref t, 4 * tap + 32, c4);
            }
    }

    static void Add(ref float s, nuint at, Vector512<float> v) => (Vector512.LoadUnsafe(ref s, at) + v).StoreUnsafe(ref s, at);
}
