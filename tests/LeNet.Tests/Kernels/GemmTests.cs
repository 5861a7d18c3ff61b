using LeNet.Kernels;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Kernels;

[Collection(SimdCollection.Name)]
public class GemmTests
{
    public static TheoryData<SimdWidth> Widths()
    {
        var data = new TheoryData<SimdWidth>();
        foreach (var width in Simd.Available) data.Add(width);
        return data;
    }

    static float[] Random(int length, Rng rng) => Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray();

    [Theory]
    [MemberData(nameof(Widths))]
    public void MultiplyNN_matches_the_definition_for_every_shape_edge(SimdWidth width)
    {
        var rng = new Rng(1);
        using var _ = Simd.Use(width);
        foreach (int m in new[] { 1, 3, 4, 6, 9, 14, 19 })
            foreach (int n in new[] { 1, 7, 8, 15, 16, 17, 31, 32, 33, 50, 70, 97, 144 })
                foreach (int k in new[] { 1, 5, 25 })
                {
                    int lda = k + 1, ldb = n + 3, ldc = n + 2;
                    var a = Random(m * lda, rng); var b = Random(k * ldb, rng); var c = Random(m * ldc, rng);
                    var expected = (float[])c.Clone();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = expected[i * ldc + j];
                            for (int p = 0; p < k; p++) s += (double)a[i * lda + p] * b[p * ldb + j];
                            expected[i * ldc + j] = (float)s;
                        }
                    Gemm.MultiplyNN(m, n, k, a, lda, b, ldb, c, ldc, accumulate: true);
                    for (int i = 0; i < c.Length; i++) Assert.True(Math.Abs(c[i] - expected[i]) < 1e-4f, $"m={m} n={n} k={k} at {i}");
                }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void MultiplyNT_matches_the_definition_for_every_shape_edge(SimdWidth width)
    {
        var rng = new Rng(2);
        using var _ = Simd.Use(width);
        foreach (int m in new[] { 1, 2, 3, 5, 4, 8, 11 })
            foreach (int n in new[] { 1, 3, 4, 5, 9, 17 })
                foreach (int k in new[] { 1, 7, 8, 15, 16, 17, 40, 100, 127, 128, 129, 200, 256, 300, 400 })
                {
                    int lda = k + 2, ldb = k + 1, ldc = n;
                    var a = Random(m * lda, rng); var b = Random(n * ldb, rng); var c = new float[m * ldc];
                    Gemm.MultiplyNT(m, n, k, a, lda, b, ldb, c, ldc, accumulate: false);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += (double)a[i * lda + p] * b[j * ldb + p];
                            Assert.True(Math.Abs(c[i * ldc + j] - s) < 1e-4, $"m={m} n={n} k={k}");
                        }
                }
    }

    [Fact]
    public void Multiply_rejects_spans_smaller_than_the_dimensions() =>
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyNN(2, 2, 2, new float[3], 2, new float[4], 2, new float[4], 2, false));

    [Theory]
    [MemberData(nameof(Widths))]
    public void Row_tables_read_B_as_shifted_overlapping_views(SimdWidth width)
    {
        // B's rows are windows of one buffer at arbitrary, overlapping offsets, as in an implicit im2col.
        var rng = new Rng(3);
        using var _ = Simd.Use(width);
        foreach (int m in new[] { 1, 2, 5, 6, 8, 14, 16 })
            foreach (int n in new[] { 1, 9, 16, 33, 144 })
                foreach (int k in new[] { 1, 25, 150 })
                {
                    var buffer = Random(3 * n + 4 * k + 40, rng);
                    var rows = Enumerable.Range(0, k).Select(p => (p * 7 + p / 5 * 3) % (buffer.Length - n)).ToArray();
                    var a = Random(m * k, rng); var c = Random(m * n, rng);
                    var expected = (float[])c.Clone();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = expected[i * n + j];
                            for (int p = 0; p < k; p++) s += (double)a[i * k + p] * buffer[rows[p] + j];
                            expected[i * n + j] = (float)s;
                        }
                    Gemm.MultiplyNNRows(m, n, k, a, k, buffer, rows, c, n, accumulate: true);
                    for (int i = 0; i < c.Length; i++) Assert.True(Math.Abs(c[i] - expected[i]) < 1e-3f, $"NN m={m} n={n} k={k} at {i}");
                }
        foreach (int m in new[] { 1, 3, 6, 16 })
            foreach (int n in new[] { 1, 5, 25, 150 })
                foreach (int k in new[] { 9, 100, 1664, 3000 })   // long dot products are taken in slices
                {
                    var buffer = Random(k + 3 * n + 50, rng);
                    var rows = Enumerable.Range(0, n).Select(j => (j * 5 + j / 3) % (buffer.Length - k)).ToArray();
                    var a = Random(m * k, rng); var c = new float[m * n];
                    Gemm.MultiplyNTRows(m, n, k, a, k, buffer, rows, c, n, accumulate: false);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += (double)a[i * k + p] * buffer[rows[j] + p];
                            Assert.True(Math.Abs(c[i * n + j] - s) < 1e-3 * Math.Max(1, Math.Sqrt(k) / 4), $"NT m={m} n={n} k={k} ({i},{j}): {c[i * n + j]} vs {s}");
                        }
                }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Row_tables_read_A_as_shifted_overlapping_views(SimdWidth width)
    {
        var rng = new Rng(4);
        using var _ = Simd.Use(width);
        foreach (int m in new[] { 1, 7, 8, 9, 25, 150 })
            foreach (int n in new[] { 1, 6, 8, 16, 20, 32, 40 })
                foreach (int k in new[] { 1, 13, 140 })
                {
                    var buffer = Random(2 * m + k + 30, rng);
                    var rows = Enumerable.Range(0, m).Select(i => (i * 3 + i / 4) % (buffer.Length - k)).ToArray();
                    int ldb = n + 1;
                    var b = Random(k * ldb, rng); var c = Random(m * n, rng);
                    var expected = (float[])c.Clone();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = expected[i * n + j];
                            for (int p = 0; p < k; p++) s += (double)buffer[rows[i] + p] * b[p * ldb + j];
                            expected[i * n + j] = (float)s;
                        }
                    Gemm.MultiplyRowsNN(m, n, k, buffer, rows, b, ldb, c, n, accumulate: true);
                    for (int i = 0; i < c.Length; i++) Assert.True(Math.Abs(c[i] - expected[i]) < 1e-3f, $"m={m} n={n} k={k} at {i}");
                }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Gathered_rows_and_columns_with_bias_and_relu_match_the_definition(SimdWidth width)
    {
        var rng = new Rng(6);
        using var _ = Simd.Use(width);
        foreach (int m in new[] { 1, 7, 8, 13, 100 })
            foreach (int n in new[] { 1, 16, 32, 20 })
                foreach (int k in new[] { 1, 25, 150 })
                    foreach (var (relu, accumulate) in new[] { (false, false), (true, false), (false, true) })
                    {
                        var buffer = Random(m * 5 + k * 3 + 40, rng);
                        var rows = Enumerable.Range(0, m).Select(i => i * 5 % (m * 5 + 1)).ToArray();
                        var cols = Enumerable.Range(0, k).Select(p => p * 3 % (k * 3 + 7)).ToArray();
                        int ldb = n + 2, ldc = n + 1;
                        var b = Random(k * ldb, rng); var bias = Random(n, rng);
                        var c = accumulate ? Random(m * ldc, rng) : Enumerable.Repeat(float.NaN, m * ldc).ToArray();
                        var before = (float[])c.Clone();
                        Gemm.MultiplyGathered(m, n, k, buffer, rows, cols, b, ldb, accumulate ? default : bias, relu, c, ldc, accumulate);
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double s = accumulate ? before[i * ldc + j] : bias[j];
                                for (int p = 0; p < k; p++) s += (double)buffer[rows[i] + cols[p]] * b[p * ldb + j];
                                if (relu) s = Math.Max(s, 0);
                                Assert.True(Math.Abs(c[i * ldc + j] - s) < 1e-3, $"m={m} n={n} k={k} relu={relu} accumulate={accumulate} at ({i},{j}): {c[i * ldc + j]} vs {s}");
                            }
                    }
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyGathered(8, 16, 2, new float[20], new int[8] { 0, 1, 2, 3, 4, 5, 6, 19 }, new int[] { 0, 1 }, new float[32], 16, new float[16], false, new float[128], 16));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Transpose_moves_every_element_and_leaves_the_padding_columns(SimdWidth width)
    {
        var rng = new Rng(3);
        using var _ = Simd.Use(width);
        foreach (int rows in new[] { 1, 3, 4, 5, 6, 8, 12, 16, 17 })
            foreach (int cols in new[] { 1, 3, 4, 5, 7, 8, 9, 140 })
            {
                int lds = cols + 5, ldd = rows + 4;
                var src = Random(rows * lds, rng);
                var dst = Enumerable.Repeat(7f, cols * ldd).ToArray();
                Gemm.Transpose(rows, cols, src, lds, dst, ldd);
                for (int j = 0; j < cols; j++)
                {
                    for (int i = 0; i < rows; i++) Assert.Equal(src[i * lds + j], dst[j * ldd + i]);
                    for (int i = rows; i < ldd; i++) Assert.Equal(7f, dst[j * ldd + i]);
                }
            }
        Assert.Throws<ArgumentException>(() => Gemm.Transpose(4, 4, new float[16], 4, new float[15]));
    }

    [Fact]
    public void Row_tables_that_reach_past_B_are_refused()
    {
        var b = new float[20];
        var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyNNRows(1, 4, 2, new float[2], 2, b, [0, 17], c, 4, accumulate: false));
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyNTRows(1, 1, 4, new float[4], 4, b, [-1], c, 1, accumulate: false));
    }
}

/// <summary>Tests that change <see cref="Simd.Width"/> run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public class SimdCollection { public const string Name = "simd width"; }
