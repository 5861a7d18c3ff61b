// Small dense matrix products for the layers: C = A·B and C = A·Bᵀ over row-major spans.
// Register-blocked Vector512 / Vector256 bodies with a scalar reference that tests compare against
// and that runs where SIMD is not available. Single-threaded: parallelism is over the batch, not here.
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace LeNet.Kernels;

public static class Gemm
{
    /// <summary>C[m,n] = (accumulate ? C : 0) + Σ_k A[m,k]·B[k,n]. Row-major with leading dimensions.</summary>
    public static void MultiplyNN(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        CheckLengths(k, n, ldb, b.Length, "B");
        int[]? rented = k > MaxStackRows ? ArrayPool<int>.Shared.Rent(k) : null;
        Span<int> rows = rented is null ? stackalloc int[k] : rented.AsSpan(0, k);
        for (int p = 0; p < k; p++) rows[p] = p * ldb;
        MultiplyNNRows(m, n, k, a, lda, b, rows, c, ldc, accumulate);
        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
    }

    /// <summary>
    /// C[m,n] = (accumulate ? C : 0) + Σ_k A[m,k]·B[k,n] where row p of B is the n floats at b[rows[p]]:
    /// rows may overlap, so B can be a set of shifted views of one buffer (an implicit im2col).
    /// </summary>
    public static void MultiplyNNRows(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        CheckLengths(m, k, lda, a.Length, "A");
        CheckRows(rows, k, n, b.Length);
        CheckLengths(m, n, ldc, c.Length, "C");
        if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        if (k == 0) return;
        switch (Simd.Width)
        {
            case SimdWidth.V512: NN512(m, n, k, a, lda, b, rows, c, ldc); break;
            case SimdWidth.V256: NNVector<Lanes256>(m, n, k, a, lda, b, rows, c, ldc, 0); break;
            case SimdWidth.V128: NNVector<Lanes128>(m, n, k, a, lda, b, rows, c, ldc, 0); break;
            default: NNScalar(m, n, k, a, lda, b, rows, c, ldc, 0); break;
        }
    }

    /// <summary>C[m,n] = (accumulate ? C : 0) + Σ_k A[m,k]·B[n,k] (B transposed): dot products of rows.</summary>
    public static void MultiplyNT(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        CheckLengths(n, k, ldb, b.Length, "B");
        int[]? rented = n > MaxStackRows ? ArrayPool<int>.Shared.Rent(n) : null;
        Span<int> rows = rented is null ? stackalloc int[n] : rented.AsSpan(0, n);
        for (int j = 0; j < n; j++) rows[j] = j * ldb;
        MultiplyNTRows(m, n, k, a, lda, b, rows, c, ldc, accumulate);
        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
    }

    /// <summary>
    /// C[m,n] = (accumulate ? C : 0) + Σ_k A[m,k]·B[n,k] where row j of B is the k floats at b[rows[j]]
    /// (rows may overlap: shifted views of one buffer).
    /// </summary>
    public static void MultiplyNTRows(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        CheckLengths(m, k, lda, a.Length, "A");
        CheckRows(rows, n, k, b.Length);
        CheckLengths(m, n, ldc, c.Length, "C");
        if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        if (k == 0) return;
        if (k < ShortDot && m >= 8 && Simd.Width != SimdWidth.Scalar)
        {
            // Short dot products (a small batch) spend more on summing each vector accumulator than on
            // the products: transpose B and take the broadcast path, which is fast for any k. With few
            // rows of A (one image through a dense layer) the transpose would cost more than it saves.
            var buffer = ArrayPool<float>.Shared.Rent(k * n);
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) buffer[p * n + j] = b[rows[j] + p];
            MultiplyNN(m, n, k, a, lda, buffer.AsSpan(0, k * n), n, c, ldc, accumulate: true);
            ArrayPool<float>.Shared.Return(buffer);
            return;
        }
        switch (Simd.Width)
        {
            case SimdWidth.V512: NT512(m, n, k, a, lda, b, rows, c, ldc); break;
            case SimdWidth.V256: NTVector<Lanes256>(m, n, k, a, lda, b, rows, c, ldc); break;
            case SimdWidth.V128: NTVector<Lanes128>(m, n, k, a, lda, b, rows, c, ldc); break;
            default: NTScalar(m, n, k, a, lda, b, rows, c, ldc); break;
        }
    }

    /// <summary>
    /// C[m,n] = (accumulate ? C : 0) + Σ_k A[m,k]·B[k,n] where row i of A is the k floats at a[rows[i]]
    /// (shifted views of one buffer) and B is row-major: a convolution's weight gradient, transposed,
    /// with the output gradient as B so that one vector of B holds 16 output maps.
    /// </summary>
    public static void MultiplyRowsNN(int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<int> rows, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        CheckRows(rows, m, k, a.Length);
        CheckLengths(k, n, ldb, b.Length, "B");
        CheckLengths(m, n, ldc, c.Length, "C");
        if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        if (k == 0) return;
        ref float A = ref Unsafe.AsRef(in a[0]);
        ref float B = ref Unsafe.AsRef(in b[0]);
        ref float C = ref c[0];
        int j = 0;
        if (Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated)
            for (; j + 16 <= n; j += 16)
            {
                int i = 0;
                for (; i + 8 <= m; i += 8) RowsBlock8x16(k, ref A, rows.Slice(i, 8), ref Unsafe.Add(ref B, j), ldb, ref Unsafe.Add(ref C, i * ldc + j), ldc);
                for (; i < m; i++)
                {
                    Vector512<float> s = default;
                    ref float ai = ref Unsafe.Add(ref A, rows[i]);
                    for (int p = 0; p < k; p++) s = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref ai, p)), Vector512.LoadUnsafe(ref B, (nuint)(p * ldb + j)), s);
                    Add512(ref C, i * ldc + j, s);
                }
            }
        if (Simd.Allows(SimdWidth.V256)) j = RowsNNColumns<Lanes256>(m, n, k, ref A, rows, ref B, ldb, ref C, ldc, j);
        if (Simd.Allows(SimdWidth.V128)) j = RowsNNColumns<Lanes128>(m, n, k, ref A, rows, ref B, ldb, ref C, ldc, j);
        for (; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s += a[rows[i] + p] * b[p * ldb + j];
                c[i * ldc + j] += s;
            }
    }

    // Columns from j on, a vector of them at a time, for every row of A; returns the first column not done.
    static int RowsNNColumns<V>(int m, int n, int k, ref float A, ReadOnlySpan<int> rows, ref float B, int ldb, ref float C, int ldc, int j)
        where V : struct, IVector<V>
    {
        for (; j + V.Count <= n; j += V.Count)
            for (int i = 0; i < m; i++)
            {
                V s = V.Zero;
                ref float ai = ref Unsafe.Add(ref A, rows[i]);
                for (int p = 0; p < k; p++) V.Accumulate(ref s, V.Create(Unsafe.Add(ref ai, p)), V.Load(ref B, (nuint)(p * ldb + j)));
                AddVector(ref C, i * ldc + j, s);
            }
        return j;
    }

    /// <summary>
    /// C[i, j] = f(bias[j] + Σ_p A[i, p]·B[p, j]) where A[i, p] = a[rows[i] + cols[p]] and f is relu or
    /// the identity; with accumulate, C[i, j] += Σ_p A[i, p]·B[p, j] instead (bias and relu unused).
    /// A convolution with output positions as rows: rows[i] is where position i's window starts, cols[p]
    /// where weight p sits in a window, and B holds the weights transposed (one vector of 16 output maps
    /// per weight), so no multiply-add is spent on the padding columns of a grid. Or its weight gradient,
    /// with the roles of the tables swapped and the output gradient, transposed, as B.
    /// </summary>
    public static void MultiplyGathered(int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<int> rows, ReadOnlySpan<int> cols,
        ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, bool relu, Span<float> c, int ldc, bool accumulate = false)
    {
        if (m == 0 || n == 0) return;
        if (rows.Length < m || cols.Length < k || (!accumulate && bias.Length < n)) throw new ArgumentException("Fewer row offsets, column offsets or biases than the dimensions say.");
        int maxRow = 0, maxCol = 0;
        foreach (int r in rows[..m]) { if (r < 0) ThrowLength("A"); maxRow = Math.Max(maxRow, r); }
        foreach (int q in cols[..k]) { if (q < 0) ThrowLength("A"); maxCol = Math.Max(maxCol, q); }
        if (k > 0 && (long)maxRow + maxCol >= a.Length) ThrowLength("A");
        CheckLengths(k, n, ldb, b.Length, "B");
        CheckLengths(m, n, ldc, c.Length, "C");
        if (Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated && n % 16 == 0 && m >= 8)
        {
            ref float A = ref Unsafe.AsRef(in a[0]);
            ref int C0 = ref Unsafe.AsRef(in cols[0]);
            Span<float> tail = stackalloc float[8 * 16];
            for (int j = 0; j < n; j += 16)
            {
                ref float B = ref Unsafe.AsRef(in b[j]);
                int i = 0;
                for (; i + 8 <= m; i += 8)
                {
                    ref float ci = ref c[i * ldc + j];
                    if (accumulate) Gathered8x16(k, ref A, rows.Slice(i, 8), ref C0, ref B, ldb, ref ci, ldc, relu: false, ref ci, ldc);
                    else Gathered8x16(k, ref A, rows.Slice(i, 8), ref C0, ref B, ldb, ref Unsafe.AsRef(in bias[j]), 0, relu, ref ci, ldc);
                }
                if (i == m) continue;
                // The last rows as a block of 8 that overlaps the one before: stored again (the same
                // values), or, when accumulating, formed apart and only its new rows added.
                if (!accumulate)
                    Gathered8x16(k, ref A, rows.Slice(m - 8, 8), ref C0, ref B, ldb, ref Unsafe.AsRef(in bias[j]), 0, relu, ref c[(m - 8) * ldc + j], ldc);
                else
                {
                    tail.Clear();
                    Gathered8x16(k, ref A, rows.Slice(m - 8, 8), ref C0, ref B, ldb, ref tail[0], 0, relu: false, ref tail[0], 16);
                    for (int r = i; r < m; r++) TensorPrimitives.Add(c.Slice(r * ldc + j, 16), tail.Slice((r - (m - 8)) * 16, 16), c.Slice(r * ldc + j, 16));
                }
            }
            return;
        }
        if (!accumulate && m >= 6 && k > 0)
        {
            // Below 512 bits: blocks of 6 rows × two vectors of columns (16 registers' worth).
            if (Simd.Allows(SimdWidth.V256) && n % (2 * Lanes256.Count) == 0) { GatheredNarrow<Lanes256>(m, n, k, a, rows, cols, b, ldb, bias, relu, c, ldc); return; }
            if (Simd.Allows(SimdWidth.V128) && n % (2 * Lanes128.Count) == 0) { GatheredNarrow<Lanes128>(m, n, k, a, rows, cols, b, ldb, bias, relu, c, ldc); return; }
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = accumulate ? c[i * ldc + j] : bias[j];
                for (int p = 0; p < k; p++) sum += a[rows[i] + cols[p]] * b[p * ldb + j];
                c[i * ldc + j] = relu && !accumulate ? Math.Max(sum, 0f) : sum;
            }
    }

    // 8 gathered rows of A × 16 columns of B: per k step one load of B, one column offset and 8
    // broadcasts. Two steps at a time into two sets of 8 accumulators (the first started at init),
    // so 16 independent chains hide the FMA latency.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // Row i's accumulators start at init + i·initStride: the bias (stride 0) or C itself.
    static void Gathered8x16(int k, ref float A, ReadOnlySpan<int> rows, ref int cols, ref float b, int ldb, ref float init, int initStride, bool relu, ref float c, int ldc)
    {
        nuint st = (nuint)initStride;
        Vector512<float> c0 = Vector512.LoadUnsafe(ref init), c1 = Vector512.LoadUnsafe(ref init, st), c2 = Vector512.LoadUnsafe(ref init, 2 * st),
            c3 = Vector512.LoadUnsafe(ref init, 3 * st), c4 = Vector512.LoadUnsafe(ref init, 4 * st), c5 = Vector512.LoadUnsafe(ref init, 5 * st),
            c6 = Vector512.LoadUnsafe(ref init, 6 * st), c7 = Vector512.LoadUnsafe(ref init, 7 * st);
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default;
        ref float a0 = ref Unsafe.Add(ref A, rows[0]), a1 = ref Unsafe.Add(ref A, rows[1]), a2 = ref Unsafe.Add(ref A, rows[2]), a3 = ref Unsafe.Add(ref A, rows[3]),
            a4 = ref Unsafe.Add(ref A, rows[4]), a5 = ref Unsafe.Add(ref A, rows[5]), a6 = ref Unsafe.Add(ref A, rows[6]), a7 = ref Unsafe.Add(ref A, rows[7]);
        // Pointers that step rather than indices that multiply, so the loop's addresses fit in registers.
        ref int col = ref cols;
        ref int end = ref Unsafe.Add(ref cols, k & ~1);
        nint step = ldb;
        while (Unsafe.IsAddressLessThan(ref col, ref end))
        {
            nint o = col, q = Unsafe.Add(ref col, 1);
            var v = Vector512.LoadUnsafe(ref b);
            var w = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, step));
            col = ref Unsafe.Add(ref col, 2);
            b = ref Unsafe.Add(ref b, 2 * step);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, o)), v, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, o)), v, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, o)), v, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, o)), v, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a4, o)), v, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a5, o)), v, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a6, o)), v, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a7, o)), v, c7);
            d0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, q)), w, d0);
            d1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, q)), w, d1);
            d2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, q)), w, d2);
            d3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, q)), w, d3);
            d4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a4, q)), w, d4);
            d5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a5, q)), w, d5);
            d6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a6, q)), w, d6);
            d7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a7, q)), w, d7);
        }
        if ((k & 1) != 0)
        {
            nint o = col;
            var v = Vector512.LoadUnsafe(ref b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, o)), v, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, o)), v, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, o)), v, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, o)), v, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a4, o)), v, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a5, o)), v, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a6, o)), v, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a7, o)), v, c7);
        }
        c0 += d0; c1 += d1; c2 += d2; c3 += d3; c4 += d4; c5 += d5; c6 += d6; c7 += d7;
        if (relu)
        {
            var zero = Vector512<float>.Zero;
            c0 = Vector512.Max(c0, zero); c1 = Vector512.Max(c1, zero); c2 = Vector512.Max(c2, zero); c3 = Vector512.Max(c3, zero);
            c4 = Vector512.Max(c4, zero); c5 = Vector512.Max(c5, zero); c6 = Vector512.Max(c6, zero); c7 = Vector512.Max(c7, zero);
        }
        c0.StoreUnsafe(ref c); c1.StoreUnsafe(ref c, (nuint)ldc); c2.StoreUnsafe(ref c, (nuint)(2 * ldc)); c3.StoreUnsafe(ref c, (nuint)(3 * ldc));
        c4.StoreUnsafe(ref c, (nuint)(4 * ldc)); c5.StoreUnsafe(ref c, (nuint)(5 * ldc)); c6.StoreUnsafe(ref c, (nuint)(6 * ldc)); c7.StoreUnsafe(ref c, (nuint)(7 * ldc));
    }

    // The gathered product at 256 and 128 bits: blocks of 6 rows × 2 vectors of columns, 12 accumulators,
    // per k step 2 loads of B and 6 broadcasts of gathered A; the last block of rows overlaps the one
    // before and stores the same values again.
    static void GatheredNarrow<V>(int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<int> rows, ReadOnlySpan<int> cols,
        ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, bool relu, Span<float> c, int ldc) where V : struct, IVector<V>
    {
        ref float A = ref Unsafe.AsRef(in a[0]);
        ref int C0 = ref Unsafe.AsRef(in cols[0]);
        for (int j = 0; j < n; j += 2 * V.Count)
            for (int i = 0; ; i += 6)
            {
                if (i > m - 6) i = m - 6;
                Gathered6x2<V>(k, ref A, rows.Slice(i, 6), ref C0, ref Unsafe.AsRef(in b[j]), ldb, ref Unsafe.AsRef(in bias[j]), relu, ref c[i * ldc + j], ldc);
                if (i == m - 6) break;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Gathered6x2<V>(int k, ref float A, ReadOnlySpan<int> rows, ref int cols, ref float b, int ldb, ref float bias, bool relu, ref float c, int ldc)
        where V : struct, IVector<V>
    {
        nuint l = (nuint)V.Count;
        V c0 = V.Load(ref bias, 0), d0 = V.Load(ref bias, l);
        V c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0;
        ref float a0 = ref Unsafe.Add(ref A, rows[0]), a1 = ref Unsafe.Add(ref A, rows[1]), a2 = ref Unsafe.Add(ref A, rows[2]),
            a3 = ref Unsafe.Add(ref A, rows[3]), a4 = ref Unsafe.Add(ref A, rows[4]), a5 = ref Unsafe.Add(ref A, rows[5]);
        ref int col = ref cols;
        ref int end = ref Unsafe.Add(ref cols, k);
        nint step = ldb;
        while (Unsafe.IsAddressLessThan(ref col, ref end))
        {
            nint o = col;
            V v = V.Load(ref b, 0), w = V.Load(ref b, l);
            col = ref Unsafe.Add(ref col, 1);
            b = ref Unsafe.Add(ref b, step);
            V g = V.Create(Unsafe.Add(ref a0, o)); V.Accumulate(ref c0, g, v); V.Accumulate(ref d0, g, w);
            g = V.Create(Unsafe.Add(ref a1, o)); V.Accumulate(ref c1, g, v); V.Accumulate(ref d1, g, w);
            g = V.Create(Unsafe.Add(ref a2, o)); V.Accumulate(ref c2, g, v); V.Accumulate(ref d2, g, w);
            g = V.Create(Unsafe.Add(ref a3, o)); V.Accumulate(ref c3, g, v); V.Accumulate(ref d3, g, w);
            g = V.Create(Unsafe.Add(ref a4, o)); V.Accumulate(ref c4, g, v); V.Accumulate(ref d4, g, w);
            g = V.Create(Unsafe.Add(ref a5, o)); V.Accumulate(ref c5, g, v); V.Accumulate(ref d5, g, w);
        }
        if (relu)
        {
            c0 = V.Max(c0, V.Zero); c1 = V.Max(c1, V.Zero); c2 = V.Max(c2, V.Zero); c3 = V.Max(c3, V.Zero); c4 = V.Max(c4, V.Zero); c5 = V.Max(c5, V.Zero);
            d0 = V.Max(d0, V.Zero); d1 = V.Max(d1, V.Zero); d2 = V.Max(d2, V.Zero); d3 = V.Max(d3, V.Zero); d4 = V.Max(d4, V.Zero); d5 = V.Max(d5, V.Zero);
        }
        nuint r = (nuint)ldc;
        V.Store(c0, ref c, 0); V.Store(d0, ref c, l);
        V.Store(c1, ref c, r); V.Store(d1, ref c, r + l);
        V.Store(c2, ref c, 2 * r); V.Store(d2, ref c, 2 * r + l);
        V.Store(c3, ref c, 3 * r); V.Store(d3, ref c, 3 * r + l);
        V.Store(c4, ref c, 4 * r); V.Store(d4, ref c, 4 * r + l);
        V.Store(c5, ref c, 5 * r); V.Store(d5, ref c, 5 * r + l);
    }

    // 8 shifted rows of A × 16 columns of B: 8 accumulators, per k step one load of B and 8 broadcasts.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RowsBlock8x16(int k, ref float A, ReadOnlySpan<int> rows, ref float b, int ldb, ref float c, int ldc)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        ref float a0 = ref Unsafe.Add(ref A, rows[0]), a1 = ref Unsafe.Add(ref A, rows[1]), a2 = ref Unsafe.Add(ref A, rows[2]), a3 = ref Unsafe.Add(ref A, rows[3]),
            a4 = ref Unsafe.Add(ref A, rows[4]), a5 = ref Unsafe.Add(ref A, rows[5]), a6 = ref Unsafe.Add(ref A, rows[6]), a7 = ref Unsafe.Add(ref A, rows[7]);
        for (int p = 0; p < k; p++)
        {
            var v = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, p * ldb));
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, p)), v, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, p)), v, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, p)), v, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, p)), v, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a4, p)), v, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a5, p)), v, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a6, p)), v, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a7, p)), v, c7);
        }
        Add512(ref c, 0, c0); Add512(ref c, ldc, c1); Add512(ref c, 2 * ldc, c2); Add512(ref c, 3 * ldc, c3);
        Add512(ref c, 4 * ldc, c4); Add512(ref c, 5 * ldc, c5); Add512(ref c, 6 * ldc, c6); Add512(ref c, 7 * ldc, c7);
    }

    const int MaxStackRows = 4096;
    const int DotBlock = 1024;

    const int ShortDot = 128;

    /// <summary>
    /// Dst[j·ldd + i] = Src[i·lds + j] for a row-major rows×cols source (ldd defaults to rows; the two
    /// must not overlap): 8×8 blocks where AVX2 is there (fewer than eight columns: a gather per
    /// column), 4×4 blocks with 128-bit vectors (SSE, AdvSimd), else element by element. A remainder
    /// of rows or columns past whole blocks is one more block that overlaps the one before (its shared
    /// elements are written twice, with the same values).
    /// </summary>
    public static unsafe void Transpose(int rows, int cols, ReadOnlySpan<float> src, int lds, Span<float> dst, int ldd = 0)
    {
        if (ldd == 0) ldd = rows;
        CheckLengths(rows, cols, lds, src.Length, "source");
        CheckLengths(cols, rows, ldd, dst.Length, "destination");
        if (rows == 0 || cols == 0) return;
        fixed (float* s = src)
        fixed (float* d = dst)
        {
            if (Avx2.IsSupported && Simd.Allows(SimdWidth.V256) && rows >= 8)
            {
                var index = Vector256.Create(0, lds, 2 * lds, 3 * lds, 4 * lds, 5 * lds, 6 * lds, 7 * lds);
                for (int i = 0; i < rows; i += 8)
                {
                    if (i + 8 > rows) i = rows - 8;
                    float* si = s + (long)i * lds, di = d + i;
                    if (cols < 8)
                    {
                        for (int j = 0; j < cols; j++) Avx2.GatherVector256(si + j, index, 4).Store(di + (long)j * ldd);
                        continue;
                    }
                    for (int j = 0; j < cols; j += 8)
                    {
                        if (j + 8 > cols) j = cols - 8;
                        Transpose8x8(si + j, lds, di + (long)j * ldd, ldd);
                    }
                }
                return;
            }
            if (Simd.Allows(SimdWidth.V128) && rows >= 4 && cols >= 4 && (Sse.IsSupported || AdvSimd.Arm64.IsSupported))
            {
                // 4×4 blocks (128-bit vectors: SSE, or ARM64's AdvSimd), the last row and column of blocks overlapping.
                for (int i = 0; i < rows; i += 4)
                {
                    if (i + 4 > rows) i = rows - 4;
                    for (int j = 0; j < cols; j += 4)
                    {
                        if (j + 4 > cols) j = cols - 4;
                        Transpose4x4(s + (long)i * lds + j, lds, d + (long)j * ldd + i, ldd);
                    }
                }
                return;
            }
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) d[(long)j * ldd + i] = s[(long)i * lds + j];
        }
    }

    static unsafe void Transpose4x4(float* s, int lds, float* d, int ldd)
    {
        var r0 = Vector128.Load(s); var r1 = Vector128.Load(s + lds); var r2 = Vector128.Load(s + 2 * lds); var r3 = Vector128.Load(s + 3 * lds);
        if (Sse.IsSupported)
        {
            var t0 = Sse.UnpackLow(r0, r1); var t1 = Sse.UnpackHigh(r0, r1);
            var t2 = Sse.UnpackLow(r2, r3); var t3 = Sse.UnpackHigh(r2, r3);
            Sse.MoveLowToHigh(t0, t2).Store(d); Sse.MoveHighToLow(t2, t0).Store(d + ldd);
            Sse.MoveLowToHigh(t1, t3).Store(d + 2 * ldd); Sse.MoveHighToLow(t3, t1).Store(d + 3 * ldd);
        }
        else
        {
            var t0 = AdvSimd.Arm64.ZipLow(r0, r1).AsDouble(); var t1 = AdvSimd.Arm64.ZipHigh(r0, r1).AsDouble();
            var t2 = AdvSimd.Arm64.ZipLow(r2, r3).AsDouble(); var t3 = AdvSimd.Arm64.ZipHigh(r2, r3).AsDouble();
            AdvSimd.Arm64.ZipLow(t0, t2).AsSingle().Store(d); AdvSimd.Arm64.ZipHigh(t0, t2).AsSingle().Store(d + ldd);
            AdvSimd.Arm64.ZipLow(t1, t3).AsSingle().Store(d + 2 * ldd); AdvSimd.Arm64.ZipHigh(t1, t3).AsSingle().Store(d + 3 * ldd);
        }
    }

    // An 8×8 block by unpacks and lane permutes: 24 shuffles where gathers cost a load per element.
    static unsafe void Transpose8x8(float* s, int lds, float* d, int ldd) =>
        StoreTransposed8x8(d, ldd, Avx.LoadVector256(s), Avx.LoadVector256(s + lds), Avx.LoadVector256(s + 2 * lds), Avx.LoadVector256(s + 3 * lds),
            Avx.LoadVector256(s + 4 * lds), Avx.LoadVector256(s + 5 * lds), Avx.LoadVector256(s + 6 * lds), Avx.LoadVector256(s + 7 * lds));

    /// <summary>Rows r0..r7 of an 8×8 block stored transposed: column j of the block at d + j·ldd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void StoreTransposed8x8(float* d, int ldd, Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20)); Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20)); Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31)); Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31)); Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    static void CheckRows(ReadOnlySpan<int> rows, int count, int width, int length)
    {
        if (rows.Length < count) throw new ArgumentException("The row table of B is shorter than its dimensions say.");
        foreach (int r in rows[..count])
            if (r < 0 || (long)r + width > length) ThrowLength("B");
    }

    static void CheckLengths(int rows, int cols, int ld, int length, string name)
    {
        if (ld < cols || (rows > 0 && (long)(rows - 1) * ld + cols > length)) ThrowLength(name);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ThrowLength(string name) => throw new ArgumentException($"Matrix {name} is smaller than its dimensions say.");

    // ---- reference -------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NNScalar(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc, int j0)
    {
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
            {
                float av = a[i * lda + p];
                var brow = b.Slice(rows[p], n);
                var crow = c.Slice(i * ldc, n);
                for (int j = j0; j < n; j++) crow[j] += av * brow[j];
            }
    }

    // The last few columns of C (fewer than a vector): each is a column of B, gathered once, dotted
    // with every row of A. A batch of one makes all of C such a column.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NNColumns(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc, int j0)
    {
        float[]? rented = k > 1024 ? ArrayPool<float>.Shared.Rent(k) : null;
        Span<float> column = rented is null ? stackalloc float[k] : rented.AsSpan(0, k);
        for (int j = j0; j < n; j++)
        {
            for (int p = 0; p < k; p++) column[p] = b[rows[p] + j];
            for (int i = 0; i < m; i++) c[i * ldc + j] += TensorPrimitives.Dot(a.Slice(i * lda, k), column);
        }
        if (rented is not null) ArrayPool<float>.Shared.Return(rented);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NTScalar(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s += a[i * lda + p] * b[rows[j] + p];
                c[i * ldc + j] += s;
            }
    }

    // ---- Vector512: panels of 32 columns of B, kept in L1 while blocks of 8, 4, 2 and 1 rows of A ----
    // sweep them. The 8×32 block holds 16 accumulators: per k step 2 loads of B, 8 broadcasts of A and
    // 16 FMAs, so the FMA units rather than the loads set the pace.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NN512(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc)
    {
        ref float A = ref Unsafe.AsRef(in a[0]);
        ref float B = ref Unsafe.AsRef(in b[0]);
        ref int R = ref Unsafe.AsRef(in rows[0]);
        ref float C = ref c[0];
        int n32 = n & ~31, n16 = n & ~15;
        if (m == 6)
        {
            // Six rows (a convolution's input gradient onto 6 maps, or 6 output maps): 18 accumulators
            // three vectors wide, then 12 and 6, so the last columns do not fall to latency-bound
            // one- and four-row blocks.
            int j = 0;
            for (; j + 48 <= n; j += 48) Block6x48(k, ref A, lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, j), ldc);
            for (; j + 32 <= n; j += 32) Block6x32(k, ref A, lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, j), ldc);
            for (; j + 16 <= n; j += 16) Block6x16(k, ref A, lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, j), ldc);
            if (n16 < n) NNVector<Lanes256>(m, n, k, a, lda, b, rows, c, ldc, n16);
            return;
        }
        for (int j = 0; j < n32; j += 32)
        {
            int i = 0;
            for (; i + 8 <= m; i += 8) Block8x32(k, ref Unsafe.Add(ref A, i * lda), lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j), ldc);
            if (m - i == 6) { Block6x32(k, ref Unsafe.Add(ref A, i * lda), lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j), ldc); i += 6; }
            for (; i + 4 <= m; i += 4) Block4x32(k, ref Unsafe.Add(ref A, i * lda), lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j), ldc);
            for (; i + 2 <= m; i += 2) Block2x32(k, ref Unsafe.Add(ref A, i * lda), lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j), ldc);
            for (; i < m; i++) Block1x32(k, ref Unsafe.Add(ref A, i * lda), ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j));
        }
        if (n32 < n16)
        {
            int j = n32, i = 0;
            for (; i + 8 <= m; i += 8) Block8x16(k, ref Unsafe.Add(ref A, i * lda), lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j), ldc);
            for (; i + 4 <= m; i += 4) Block4x16(k, ref Unsafe.Add(ref A, i * lda), lda, ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j), ldc);
            for (; i < m; i++) Block1x16(k, ref Unsafe.Add(ref A, i * lda), ref Unsafe.Add(ref B, j), ref R, ref Unsafe.Add(ref C, i * ldc + j));
        }
        if (n16 < n) NNVector<Lanes256>(m, n, k, a, lda, b, rows, c, ldc, n16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block8x32(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda),
            a4 = ref Unsafe.Add(ref a, 4 * lda), a5 = ref Unsafe.Add(ref a, 5 * lda), a6 = ref Unsafe.Add(ref a, 6 * lda),
            a7 = ref Unsafe.Add(ref a, 7 * lda);
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, 16);
            var v = Vector512.Create(Unsafe.Add(ref a, p)); c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            v = Vector512.Create(Unsafe.Add(ref a1, p)); c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
            v = Vector512.Create(Unsafe.Add(ref a2, p)); c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
            v = Vector512.Create(Unsafe.Add(ref a3, p)); c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
            v = Vector512.Create(Unsafe.Add(ref a4, p)); c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
            v = Vector512.Create(Unsafe.Add(ref a5, p)); c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
            v = Vector512.Create(Unsafe.Add(ref a6, p)); c60 = Vector512.FusedMultiplyAdd(v, b0, c60); c61 = Vector512.FusedMultiplyAdd(v, b1, c61);
            v = Vector512.Create(Unsafe.Add(ref a7, p)); c70 = Vector512.FusedMultiplyAdd(v, b0, c70); c71 = Vector512.FusedMultiplyAdd(v, b1, c71);
        }
        Add512(ref c, 0, c00, c01); Add512(ref c, ldc, c10, c11); Add512(ref c, 2 * ldc, c20, c21); Add512(ref c, 3 * ldc, c30, c31);
        Add512(ref c, 4 * ldc, c40, c41); Add512(ref c, 5 * ldc, c50, c51); Add512(ref c, 6 * ldc, c60, c61); Add512(ref c, 7 * ldc, c70, c71);
    }

    // Six rows (a convolution with 6 maps, LeNet's first layer): 12 accumulators where 4 + 2 rows would
    // leave the 2-row block waiting on FMA latency.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block6x32(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda),
            a4 = ref Unsafe.Add(ref a, 4 * lda), a5 = ref Unsafe.Add(ref a, 5 * lda);
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, 16);
            var v = Vector512.Create(Unsafe.Add(ref a, p)); c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            v = Vector512.Create(Unsafe.Add(ref a1, p)); c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
            v = Vector512.Create(Unsafe.Add(ref a2, p)); c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
            v = Vector512.Create(Unsafe.Add(ref a3, p)); c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
            v = Vector512.Create(Unsafe.Add(ref a4, p)); c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41);
            v = Vector512.Create(Unsafe.Add(ref a5, p)); c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51);
        }
        Add512(ref c, 0, c00, c01); Add512(ref c, ldc, c10, c11); Add512(ref c, 2 * ldc, c20, c21);
        Add512(ref c, 3 * ldc, c30, c31); Add512(ref c, 4 * ldc, c40, c41); Add512(ref c, 5 * ldc, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block6x48(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default,
            c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default,
            c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda),
            a4 = ref Unsafe.Add(ref a, 4 * lda), a5 = ref Unsafe.Add(ref a, 5 * lda);
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, 16);
            var b2 = Vector512.LoadUnsafe(ref bp, 32);
            var v = Vector512.Create(Unsafe.Add(ref a, p));
            c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01); c02 = Vector512.FusedMultiplyAdd(v, b2, c02);
            v = Vector512.Create(Unsafe.Add(ref a1, p));
            c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11); c12 = Vector512.FusedMultiplyAdd(v, b2, c12);
            v = Vector512.Create(Unsafe.Add(ref a2, p));
            c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21); c22 = Vector512.FusedMultiplyAdd(v, b2, c22);
            v = Vector512.Create(Unsafe.Add(ref a3, p));
            c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31); c32 = Vector512.FusedMultiplyAdd(v, b2, c32);
            v = Vector512.Create(Unsafe.Add(ref a4, p));
            c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41); c42 = Vector512.FusedMultiplyAdd(v, b2, c42);
            v = Vector512.Create(Unsafe.Add(ref a5, p));
            c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51); c52 = Vector512.FusedMultiplyAdd(v, b2, c52);
        }
        Add512(ref c, 0, c00, c01); Add512(ref c, 32, c02);
        Add512(ref c, ldc, c10, c11); Add512(ref c, ldc + 32, c12);
        Add512(ref c, 2 * ldc, c20, c21); Add512(ref c, 2 * ldc + 32, c22);
        Add512(ref c, 3 * ldc, c30, c31); Add512(ref c, 3 * ldc + 32, c32);
        Add512(ref c, 4 * ldc, c40, c41); Add512(ref c, 4 * ldc + 32, c42);
        Add512(ref c, 5 * ldc, c50, c51); Add512(ref c, 5 * ldc + 32, c52);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block6x16(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda),
            a4 = ref Unsafe.Add(ref a, 4 * lda), a5 = ref Unsafe.Add(ref a, 5 * lda);
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p)));
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, p)), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, p)), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, p)), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, p)), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a4, p)), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a5, p)), b0, c5);
        }
        Add512(ref c, 0, c0); Add512(ref c, ldc, c1); Add512(ref c, 2 * ldc, c2);
        Add512(ref c, 3 * ldc, c3); Add512(ref c, 4 * ldc, c4); Add512(ref c, 5 * ldc, c5);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block4x32(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda);
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, 16);
            var v = Vector512.Create(Unsafe.Add(ref a, p)); c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            v = Vector512.Create(Unsafe.Add(ref a1, p)); c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
            v = Vector512.Create(Unsafe.Add(ref a2, p)); c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
            v = Vector512.Create(Unsafe.Add(ref a3, p)); c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
        }
        Add512(ref c, 0, c00, c01); Add512(ref c, ldc, c10, c11); Add512(ref c, 2 * ldc, c20, c21); Add512(ref c, 3 * ldc, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block2x32(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p));
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, 16);
            var v = Vector512.Create(Unsafe.Add(ref a, p)); c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
            v = Vector512.Create(Unsafe.Add(ref a1, p)); c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
        }
        Add512(ref c, 0, c00, c01); Add512(ref c, ldc, c10, c11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block1x32(int k, ref float a, ref float b, ref int rows, ref float c)
    {
        Vector512<float> c0 = default, c1 = default;
        for (int p = 0; p < k; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p));
            var v = Vector512.Create(Unsafe.Add(ref a, p));
            c0 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref bp), c0);
            c1 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref bp, 16), c1);
        }
        Add512(ref c, 0, c0, c1);
    }

    // 8 rows × 16 columns: 8 independent accumulators, enough to keep both FMA units busy (a block of
    // 4 waits on the FMA latency). A matrix 16 wide is a transposed micro-batch of 16 samples.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block8x16(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda),
            a4 = ref Unsafe.Add(ref a, 4 * lda), a5 = ref Unsafe.Add(ref a, 5 * lda), a6 = ref Unsafe.Add(ref a, 6 * lda),
            a7 = ref Unsafe.Add(ref a, 7 * lda);
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p)));
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, p)), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, p)), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, p)), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, p)), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a4, p)), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a5, p)), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a6, p)), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a7, p)), b0, c7);
        }
        Add512(ref c, 0, c0); Add512(ref c, ldc, c1); Add512(ref c, 2 * ldc, c2); Add512(ref c, 3 * ldc, c3);
        Add512(ref c, 4 * ldc, c4); Add512(ref c, 5 * ldc, c5); Add512(ref c, 6 * ldc, c6); Add512(ref c, 7 * ldc, c7);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block4x16(int k, ref float a, int lda, ref float b, ref int rows, ref float c, int ldc)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda);
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p)));
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, p)), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, p)), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, p)), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, p)), b0, c3);
        }
        Add512(ref c, 0, c0); Add512(ref c, ldc, c1); Add512(ref c, 2 * ldc, c2); Add512(ref c, 3 * ldc, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block1x16(int k, ref float a, ref float b, ref int rows, ref float c)
    {
        Vector512<float> c0 = default;
        for (int p = 0; p < k; p++)
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, p)), Vector512.LoadUnsafe(ref Unsafe.Add(ref b, Unsafe.Add(ref rows, p))), c0);
        Add512(ref c, 0, c0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Add512(ref float c, int offset, Vector512<float> v0)
    {
        nuint o = (nuint)offset;
        (Vector512.LoadUnsafe(ref c, o) + v0).StoreUnsafe(ref c, o);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Add512(ref float c, int offset, Vector512<float> v0, Vector512<float> v1)
    {
        nuint o = (nuint)offset;
        (Vector512.LoadUnsafe(ref c, o) + v0).StoreUnsafe(ref c, o);
        (Vector512.LoadUnsafe(ref c, o + 16) + v1).StoreUnsafe(ref c, o + 16);
    }

    // ---- Vector256: 4 rows × 16 columns; also the tail of the 512 path ------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NNVector<V>(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc, int j0) where V : struct, IVector<V>
    {
        ref float A = ref Unsafe.AsRef(in a[0]);
        ref float B = ref Unsafe.AsRef(in b[0]);
        ref float C = ref c[0];
        int w = V.Count, n16 = j0 + (n - j0) / (2 * w) * (2 * w), n8 = j0 + (n - j0) / w * w;
        int i = 0;
        // Six rows × two vectors (12 accumulators, 8 loads per 12 FMAs) where the columns come in pairs of vectors.
        if (n16 > j0)
            for (; i + 6 <= m; i += 6)
            {
                for (int j = j0; j < n16; j += 2 * w)
                {
                    V c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                        c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
                    ref float ai = ref Unsafe.Add(ref A, i * lda);
                    for (int p = 0; p < k; p++, ai = ref Unsafe.Add(ref ai, 1))
                    {
                        nuint bo = (nuint)(rows[p] + j);
                        var b0 = V.Load(ref B, bo);
                        var b1 = V.Load(ref B, bo + (nuint)w);
                        var g = V.Create(ai); V.Accumulate(ref c00, g, b0); V.Accumulate(ref c01, g, b1);
                        g = V.Create(Unsafe.Add(ref ai, lda)); V.Accumulate(ref c10, g, b0); V.Accumulate(ref c11, g, b1);
                        g = V.Create(Unsafe.Add(ref ai, 2 * lda)); V.Accumulate(ref c20, g, b0); V.Accumulate(ref c21, g, b1);
                        g = V.Create(Unsafe.Add(ref ai, 3 * lda)); V.Accumulate(ref c30, g, b0); V.Accumulate(ref c31, g, b1);
                        g = V.Create(Unsafe.Add(ref ai, 4 * lda)); V.Accumulate(ref c40, g, b0); V.Accumulate(ref c41, g, b1);
                        g = V.Create(Unsafe.Add(ref ai, 5 * lda)); V.Accumulate(ref c50, g, b0); V.Accumulate(ref c51, g, b1);
                    }
                    AddVector(ref C, i * ldc + j, c00, c01); AddVector(ref C, (i + 1) * ldc + j, c10, c11);
                    AddVector(ref C, (i + 2) * ldc + j, c20, c21); AddVector(ref C, (i + 3) * ldc + j, c30, c31);
                    AddVector(ref C, (i + 4) * ldc + j, c40, c41); AddVector(ref C, (i + 5) * ldc + j, c50, c51);
                }
                for (int j = n16; j < n8; j += w)
                    for (int r = i; r < i + 6; r++)
                    {
                        V c0 = default;
                        for (int p = 0; p < k; p++)
                            V.Accumulate(ref c0, V.Create(Unsafe.Add(ref A, r * lda + p)), V.Load(ref B, (nuint)(rows[p] + j)));
                        AddVector(ref C, r * ldc + j, c0);
                    }
            }
        for (; i + 4 <= m; i += 4)
        {
            int j = j0;
            for (; j < n16; j += 2 * w)
            {
                V c00 = default, c01 = default, c10 = default, c11 = default,
                    c20 = default, c21 = default, c30 = default, c31 = default;
                for (int p = 0; p < k; p++)
                {
                    nuint bo = (nuint)(rows[p] + j);
                    var b0 = V.Load(ref B, bo);
                    var b1 = V.Load(ref B, bo + (nuint)w);
                    var a0 = V.Create(Unsafe.Add(ref A, i * lda + p));
                    var a1 = V.Create(Unsafe.Add(ref A, (i + 1) * lda + p));
                    var a2 = V.Create(Unsafe.Add(ref A, (i + 2) * lda + p));
                    var a3 = V.Create(Unsafe.Add(ref A, (i + 3) * lda + p));
                    V.Accumulate(ref c00, a0, b0); V.Accumulate(ref c01, a0, b1);
                    V.Accumulate(ref c10, a1, b0); V.Accumulate(ref c11, a1, b1);
                    V.Accumulate(ref c20, a2, b0); V.Accumulate(ref c21, a2, b1);
                    V.Accumulate(ref c30, a3, b0); V.Accumulate(ref c31, a3, b1);
                }
                AddVector(ref C, i * ldc + j, c00, c01); AddVector(ref C, (i + 1) * ldc + j, c10, c11);
                AddVector(ref C, (i + 2) * ldc + j, c20, c21); AddVector(ref C, (i + 3) * ldc + j, c30, c31);
            }
            for (; j < n8; j += w)
            {
                V c0 = default, c1 = default, c2 = default, c3 = default;
                for (int p = 0; p < k; p++)
                {
                    var b0 = V.Load(ref B, (nuint)(rows[p] + j));
                    V.Accumulate(ref c0, V.Create(Unsafe.Add(ref A, i * lda + p)), b0);
                    V.Accumulate(ref c1, V.Create(Unsafe.Add(ref A, (i + 1) * lda + p)), b0);
                    V.Accumulate(ref c2, V.Create(Unsafe.Add(ref A, (i + 2) * lda + p)), b0);
                    V.Accumulate(ref c3, V.Create(Unsafe.Add(ref A, (i + 3) * lda + p)), b0);
                }
                AddVector(ref C, i * ldc + j, c0); AddVector(ref C, (i + 1) * ldc + j, c1);
                AddVector(ref C, (i + 2) * ldc + j, c2); AddVector(ref C, (i + 3) * ldc + j, c3);
            }
        }
        for (; i < m; i++)
        {
            for (int j = j0; j < n8; j += w)
            {
                V c0 = default;
                for (int p = 0; p < k; p++)
                    V.Accumulate(ref c0, V.Create(Unsafe.Add(ref A, i * lda + p)), V.Load(ref B, (nuint)(rows[p] + j)));
                AddVector(ref C, i * ldc + j, c0);
            }
        }
        if (n8 < n) NNColumns(m, n, k, a, lda, b, rows, c, ldc, n8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddVector<V>(ref float c, int offset, V v0) where V : struct, IVector<V>
    {
        nuint o = (nuint)offset;
        V.Store(V.Load(ref c, o) + v0, ref c, o);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddVector<V>(ref float c, int offset, V v0, V v1) where V : struct, IVector<V>
    {
        nuint o = (nuint)offset;
        V.Store(V.Load(ref c, o) + v0, ref c, o);
        V.Store(V.Load(ref c, o + (nuint)V.Count) + v1, ref c, o + (nuint)V.Count);
    }

    // ---- A·Bᵀ: 2 rows of A × 4 rows of B as 8 vector dot products, reduced once at the end -------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NT512(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc)
    {
        if (k > 2 * DotBlock)
        {
            // Long dot products (a weight gradient over a batch) go in slices that keep the rows of A
            // and B in L1 rather than streaming them from L2 for every block of four.
            for (int k0 = 0; k0 < k; k0 += DotBlock) NT512(m, n, Math.Min(DotBlock, k - k0), a[k0..], lda, b[k0..], rows, c, ldc);
            return;
        }
        ref float A = ref Unsafe.AsRef(in a[0]);
        ref float B = ref Unsafe.AsRef(in b[0]);
        int k16 = k & ~15, n4 = n & ~3;
        // A block of 6 rows of A first where blocks of 4 would leave 2 or 3 (6 maps: LeNet's first
        // layer's weight gradient), so those rows do not read B again in a block of 2.
        int six = m >= 6 && (m & 3) >= 2 ? 6 : 0, m4 = six + ((m - six) & ~3);
        // Each group of 4 rows of B is read once and met by every block of rows of A: B (a dense
        // layer's weights, megabytes for cnn-wide) streams through once, A stays in cache.
        for (int j = 0; j < n4; j += 4)
        {
            if (six > 0) Dots6x4(k16, ref A, lda, ref B, rows.Slice(j, 4), c[j..], ldc);
            for (int i4 = six; i4 < m4; i4 += 4) Dots4x4(k16, ref Unsafe.Add(ref A, i4 * lda), lda, ref B, rows.Slice(j, 4), c.Slice(i4 * ldc + j), ldc);
        }
        for (int i4 = 0; i4 < m4; i4++)
        {
            if (k16 < k)
                for (int jj = 0; jj < n4; jj++) c[i4 * ldc + jj] += Tail(a, i4 * lda, b, rows[jj], k16, k);
            for (int j = n4; j < n; j++)
                c[i4 * ldc + j] += Dot512(ref A, i4 * lda, ref B, rows[j], k16) + Tail(a, i4 * lda, b, rows[j], k16, k);
        }
        int i = m4;
        for (; i + 2 <= m; i += 2)
        {
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default,
                    s10 = default, s11 = default, s12 = default, s13 = default;
                int ia0 = i * lda, ia1 = ia0 + lda, jb0 = rows[j], jb1 = rows[j + 1], jb2 = rows[j + 2], jb3 = rows[j + 3];
                for (int p = 0; p < k16; p += 16)
                {
                    var a0 = Vector512.LoadUnsafe(ref A, (nuint)(ia0 + p));
                    var a1 = Vector512.LoadUnsafe(ref A, (nuint)(ia1 + p));
                    var b0 = Vector512.LoadUnsafe(ref B, (nuint)(jb0 + p));
                    var b1 = Vector512.LoadUnsafe(ref B, (nuint)(jb1 + p));
                    var b2 = Vector512.LoadUnsafe(ref B, (nuint)(jb2 + p));
                    var b3 = Vector512.LoadUnsafe(ref B, (nuint)(jb3 + p));
                    s00 = Vector512.FusedMultiplyAdd(a0, b0, s00); s01 = Vector512.FusedMultiplyAdd(a0, b1, s01);
                    s02 = Vector512.FusedMultiplyAdd(a0, b2, s02); s03 = Vector512.FusedMultiplyAdd(a0, b3, s03);
                    s10 = Vector512.FusedMultiplyAdd(a1, b0, s10); s11 = Vector512.FusedMultiplyAdd(a1, b1, s11);
                    s12 = Vector512.FusedMultiplyAdd(a1, b2, s12); s13 = Vector512.FusedMultiplyAdd(a1, b3, s13);
                }
                c[i * ldc + j] += Vector512.Sum(s00) + Tail(a, ia0, b, jb0, k16, k);
                c[i * ldc + j + 1] += Vector512.Sum(s01) + Tail(a, ia0, b, jb1, k16, k);
                c[i * ldc + j + 2] += Vector512.Sum(s02) + Tail(a, ia0, b, jb2, k16, k);
                c[i * ldc + j + 3] += Vector512.Sum(s03) + Tail(a, ia0, b, jb3, k16, k);
                c[(i + 1) * ldc + j] += Vector512.Sum(s10) + Tail(a, ia1, b, jb0, k16, k);
                c[(i + 1) * ldc + j + 1] += Vector512.Sum(s11) + Tail(a, ia1, b, jb1, k16, k);
                c[(i + 1) * ldc + j + 2] += Vector512.Sum(s12) + Tail(a, ia1, b, jb2, k16, k);
                c[(i + 1) * ldc + j + 3] += Vector512.Sum(s13) + Tail(a, ia1, b, jb3, k16, k);
            }
            for (; j < n; j++)
            {
                c[i * ldc + j] += Dot512(ref A, i * lda, ref B, rows[j], k16) + Tail(a, i * lda, b, rows[j], k16, k);
                c[(i + 1) * ldc + j] += Dot512(ref A, (i + 1) * lda, ref B, rows[j], k16) + Tail(a, (i + 1) * lda, b, rows[j], k16, k);
            }
        }
        for (; i < m; i++)
        {
            int j = 0;
            if (k >= 16)
                for (; j + 8 <= n; j += 8) Dots1x8(k, ref Unsafe.Add(ref A, i * lda), ref B, rows.Slice(j, 8), c.Slice(i * ldc + j, 8));
            for (; j < n; j++) c[i * ldc + j] += Dot512(ref A, i * lda, ref B, rows[j], k16) + Tail(a, i * lda, b, rows[j], k16, k);
        }
    }

    // One row of A against 8 rows of B (one image through a dense layer): eight independent chains,
    // 9 loads per 8 FMAs, where one dot product at a time waits on its own chain and its own sum.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // The last k mod 16 terms come from one more vector ending at k, its lanes already counted zeroed
    // (k ≥ 16).
    static void Dots1x8(int k, ref float a, ref float B, ReadOnlySpan<int> rows, Span<float> c)
    {
        int k16 = k & ~15;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        ref float b0 = ref Unsafe.Add(ref B, rows[0]), b1 = ref Unsafe.Add(ref B, rows[1]), b2 = ref Unsafe.Add(ref B, rows[2]), b3 = ref Unsafe.Add(ref B, rows[3]),
            b4 = ref Unsafe.Add(ref B, rows[4]), b5 = ref Unsafe.Add(ref B, rows[5]), b6 = ref Unsafe.Add(ref B, rows[6]), b7 = ref Unsafe.Add(ref B, rows[7]);
        for (int p = 0; p < k16; p += 16)
        {
            nuint o = (nuint)p;
            var u = Vector512.LoadUnsafe(ref a, o);
            s0 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b0, o), s0); s1 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b1, o), s1);
            s2 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b2, o), s2); s3 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b3, o), s3);
            s4 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b4, o), s4); s5 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b5, o), s5);
            s6 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b6, o), s6); s7 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b7, o), s7);
        }
        if (k16 < k)
        {
            nuint o = (nuint)(k - 16);
            // Lanes below 16 − (k − k16) were in the last full vector.
            var fresh = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(16 - (k - k16))).AsSingle();
            var u = Vector512.LoadUnsafe(ref a, o) & fresh;
            s0 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b0, o), s0); s1 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b1, o), s1);
            s2 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b2, o), s2); s3 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b3, o), s3);
            s4 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b4, o), s4); s5 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b5, o), s5);
            s6 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b6, o), s6); s7 = Vector512.FusedMultiplyAdd(u, Vector512.LoadUnsafe(ref b7, o), s7);
        }
        c[0] += Vector512.Sum(s0); c[1] += Vector512.Sum(s1); c[2] += Vector512.Sum(s2); c[3] += Vector512.Sum(s3);
        c[4] += Vector512.Sum(s4); c[5] += Vector512.Sum(s5); c[6] += Vector512.Sum(s6); c[7] += Vector512.Sum(s7);
    }

    // 6 rows of A against 4 rows of B: 24 accumulators, 10 loads per 24 FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dots6x4(int k16, ref float a, int lda, ref float B, ReadOnlySpan<int> rows, Span<float> c, int ldc)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default,
            s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default,
            s40 = default, s41 = default, s42 = default, s43 = default, s50 = default, s51 = default, s52 = default, s53 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda),
            a4 = ref Unsafe.Add(ref a, 4 * lda), a5 = ref Unsafe.Add(ref a, 5 * lda);
        ref float b = ref Unsafe.Add(ref B, rows[0]), b1 = ref Unsafe.Add(ref B, rows[1]), b2 = ref Unsafe.Add(ref B, rows[2]), b3 = ref Unsafe.Add(ref B, rows[3]);
        for (int p = 0; p < k16; p += 16)
        {
            nuint o = (nuint)p;
            var v0 = Vector512.LoadUnsafe(ref b, o); var v1 = Vector512.LoadUnsafe(ref b1, o);
            var v2 = Vector512.LoadUnsafe(ref b2, o); var v3 = Vector512.LoadUnsafe(ref b3, o);
            var u = Vector512.LoadUnsafe(ref a, o);
            s00 = Vector512.FusedMultiplyAdd(u, v0, s00); s01 = Vector512.FusedMultiplyAdd(u, v1, s01); s02 = Vector512.FusedMultiplyAdd(u, v2, s02); s03 = Vector512.FusedMultiplyAdd(u, v3, s03);
            u = Vector512.LoadUnsafe(ref a1, o);
            s10 = Vector512.FusedMultiplyAdd(u, v0, s10); s11 = Vector512.FusedMultiplyAdd(u, v1, s11); s12 = Vector512.FusedMultiplyAdd(u, v2, s12); s13 = Vector512.FusedMultiplyAdd(u, v3, s13);
            u = Vector512.LoadUnsafe(ref a2, o);
            s20 = Vector512.FusedMultiplyAdd(u, v0, s20); s21 = Vector512.FusedMultiplyAdd(u, v1, s21); s22 = Vector512.FusedMultiplyAdd(u, v2, s22); s23 = Vector512.FusedMultiplyAdd(u, v3, s23);
            u = Vector512.LoadUnsafe(ref a3, o);
            s30 = Vector512.FusedMultiplyAdd(u, v0, s30); s31 = Vector512.FusedMultiplyAdd(u, v1, s31); s32 = Vector512.FusedMultiplyAdd(u, v2, s32); s33 = Vector512.FusedMultiplyAdd(u, v3, s33);
            u = Vector512.LoadUnsafe(ref a4, o);
            s40 = Vector512.FusedMultiplyAdd(u, v0, s40); s41 = Vector512.FusedMultiplyAdd(u, v1, s41); s42 = Vector512.FusedMultiplyAdd(u, v2, s42); s43 = Vector512.FusedMultiplyAdd(u, v3, s43);
            u = Vector512.LoadUnsafe(ref a5, o);
            s50 = Vector512.FusedMultiplyAdd(u, v0, s50); s51 = Vector512.FusedMultiplyAdd(u, v1, s51); s52 = Vector512.FusedMultiplyAdd(u, v2, s52); s53 = Vector512.FusedMultiplyAdd(u, v3, s53);
        }
        c[0] += Vector512.Sum(s00); c[1] += Vector512.Sum(s01); c[2] += Vector512.Sum(s02); c[3] += Vector512.Sum(s03);
        c[ldc] += Vector512.Sum(s10); c[ldc + 1] += Vector512.Sum(s11); c[ldc + 2] += Vector512.Sum(s12); c[ldc + 3] += Vector512.Sum(s13);
        c[2 * ldc] += Vector512.Sum(s20); c[2 * ldc + 1] += Vector512.Sum(s21); c[2 * ldc + 2] += Vector512.Sum(s22); c[2 * ldc + 3] += Vector512.Sum(s23);
        c[3 * ldc] += Vector512.Sum(s30); c[3 * ldc + 1] += Vector512.Sum(s31); c[3 * ldc + 2] += Vector512.Sum(s32); c[3 * ldc + 3] += Vector512.Sum(s33);
        c[4 * ldc] += Vector512.Sum(s40); c[4 * ldc + 1] += Vector512.Sum(s41); c[4 * ldc + 2] += Vector512.Sum(s42); c[4 * ldc + 3] += Vector512.Sum(s43);
        c[5 * ldc] += Vector512.Sum(s50); c[5 * ldc + 1] += Vector512.Sum(s51); c[5 * ldc + 2] += Vector512.Sum(s52); c[5 * ldc + 3] += Vector512.Sum(s53);
    }

    // 4 rows of A against 4 rows of B: 16 dot products in 16 accumulators, 8 loads per 16 FMAs.
    // Adds the first k16 terms of each to C; the caller adds the rest.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dots4x4(int k16, ref float a, int lda, ref float B, ReadOnlySpan<int> rows, Span<float> c, int ldc)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default,
            s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        ref float a1 = ref Unsafe.Add(ref a, lda), a2 = ref Unsafe.Add(ref a, 2 * lda), a3 = ref Unsafe.Add(ref a, 3 * lda);
        ref float b = ref Unsafe.Add(ref B, rows[0]), b1 = ref Unsafe.Add(ref B, rows[1]), b2 = ref Unsafe.Add(ref B, rows[2]), b3 = ref Unsafe.Add(ref B, rows[3]);
        for (int p = 0; p < k16; p += 16)
        {
            nuint o = (nuint)p;
            var v0 = Vector512.LoadUnsafe(ref b, o); var v1 = Vector512.LoadUnsafe(ref b1, o);
            var v2 = Vector512.LoadUnsafe(ref b2, o); var v3 = Vector512.LoadUnsafe(ref b3, o);
            var u = Vector512.LoadUnsafe(ref a, o);
            s00 = Vector512.FusedMultiplyAdd(u, v0, s00); s01 = Vector512.FusedMultiplyAdd(u, v1, s01); s02 = Vector512.FusedMultiplyAdd(u, v2, s02); s03 = Vector512.FusedMultiplyAdd(u, v3, s03);
            u = Vector512.LoadUnsafe(ref a1, o);
            s10 = Vector512.FusedMultiplyAdd(u, v0, s10); s11 = Vector512.FusedMultiplyAdd(u, v1, s11); s12 = Vector512.FusedMultiplyAdd(u, v2, s12); s13 = Vector512.FusedMultiplyAdd(u, v3, s13);
            u = Vector512.LoadUnsafe(ref a2, o);
            s20 = Vector512.FusedMultiplyAdd(u, v0, s20); s21 = Vector512.FusedMultiplyAdd(u, v1, s21); s22 = Vector512.FusedMultiplyAdd(u, v2, s22); s23 = Vector512.FusedMultiplyAdd(u, v3, s23);
            u = Vector512.LoadUnsafe(ref a3, o);
            s30 = Vector512.FusedMultiplyAdd(u, v0, s30); s31 = Vector512.FusedMultiplyAdd(u, v1, s31); s32 = Vector512.FusedMultiplyAdd(u, v2, s32); s33 = Vector512.FusedMultiplyAdd(u, v3, s33);
        }
        c[0] += Vector512.Sum(s00); c[1] += Vector512.Sum(s01); c[2] += Vector512.Sum(s02); c[3] += Vector512.Sum(s03);
        c[ldc] += Vector512.Sum(s10); c[ldc + 1] += Vector512.Sum(s11); c[ldc + 2] += Vector512.Sum(s12); c[ldc + 3] += Vector512.Sum(s13);
        c[2 * ldc] += Vector512.Sum(s20); c[2 * ldc + 1] += Vector512.Sum(s21); c[2 * ldc + 2] += Vector512.Sum(s22); c[2 * ldc + 3] += Vector512.Sum(s23);
        c[3 * ldc] += Vector512.Sum(s30); c[3 * ldc + 1] += Vector512.Sum(s31); c[3 * ldc + 2] += Vector512.Sum(s32); c[3 * ldc + 3] += Vector512.Sum(s33);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Dot512(ref float a, int ao, ref float b, int bo, int k16)
    {
        // Four chains, so the loads rather than the FMA latency set the pace.
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int p = 0;
        for (; p + 64 <= k16; p += 64)
        {
            s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, (nuint)(ao + p)), Vector512.LoadUnsafe(ref b, (nuint)(bo + p)), s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, (nuint)(ao + p + 16)), Vector512.LoadUnsafe(ref b, (nuint)(bo + p + 16)), s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, (nuint)(ao + p + 32)), Vector512.LoadUnsafe(ref b, (nuint)(bo + p + 32)), s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, (nuint)(ao + p + 48)), Vector512.LoadUnsafe(ref b, (nuint)(bo + p + 48)), s3);
        }
        for (; p < k16; p += 16)
            s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, (nuint)(ao + p)), Vector512.LoadUnsafe(ref b, (nuint)(bo + p)), s0);
        return Vector512.Sum((s0 + s1) + (s2 + s3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NTVector<V>(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, ReadOnlySpan<int> rows,
        Span<float> c, int ldc) where V : struct, IVector<V>
    {
        ref float A = ref Unsafe.AsRef(in a[0]);
        ref float B = ref Unsafe.AsRef(in b[0]);
        int w = V.Count, k8 = k / w * w;
        for (int i = 0; i < m; i++)
        {
            int ia = i * lda, j = 0;
            for (; j + 4 <= n; j += 4)
            {
                V s0 = default, s1 = default, s2 = default, s3 = default;
                int jb0 = rows[j], jb1 = rows[j + 1], jb2 = rows[j + 2], jb3 = rows[j + 3];
                for (int p = 0; p < k8; p += w)
                {
                    var av = V.Load(ref A, (nuint)(ia + p));
                    V.Accumulate(ref s0, av, V.Load(ref B, (nuint)(jb0 + p)));
                    V.Accumulate(ref s1, av, V.Load(ref B, (nuint)(jb1 + p)));
                    V.Accumulate(ref s2, av, V.Load(ref B, (nuint)(jb2 + p)));
                    V.Accumulate(ref s3, av, V.Load(ref B, (nuint)(jb3 + p)));
                }
                c[i * ldc + j] += V.Sum(s0) + Tail(a, ia, b, jb0, k8, k);
                c[i * ldc + j + 1] += V.Sum(s1) + Tail(a, ia, b, jb1, k8, k);
                c[i * ldc + j + 2] += V.Sum(s2) + Tail(a, ia, b, jb2, k8, k);
                c[i * ldc + j + 3] += V.Sum(s3) + Tail(a, ia, b, jb3, k8, k);
            }
            for (; j < n; j++)
            {
                V s = default;
                int jb = rows[j];
                for (int p = 0; p < k8; p += w)
                    V.Accumulate(ref s, V.Load(ref A, (nuint)(ia + p)), V.Load(ref B, (nuint)(jb + p)));
                c[i * ldc + j] += V.Sum(s) + Tail(a, ia, b, jb, k8, k);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Tail(ReadOnlySpan<float> a, int ao, ReadOnlySpan<float> b, int bo, int from, int k)
    {
        float s = 0;
        for (int p = from; p < k; p++) s += a[ao + p] * b[bo + p];
        return s;
    }
}
