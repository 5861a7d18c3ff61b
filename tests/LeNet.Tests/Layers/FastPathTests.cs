// The fast paths against their plain meaning: 2x2 max pooling (with ties, which send the gradient to
// the first maximum in row order), the relu derivative, and the implicit-GEMM convolution on LeNet's
// real shapes, at every SIMD width.
using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Tests.Kernels;
using Xunit;

namespace LeNet.Tests.Layers;

[Collection(SimdCollection.Name)]
public sealed class FastPathTests
{
    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void MaxPool2d_2x2_routes_the_gradient_to_the_first_maximum_even_with_ties(SimdWidth width)
    {
        using var _ = Simd.Use(width);
        foreach (var (h, w) in new[] { (6, 8), (28, 28), (10, 10), (2, 10), (4, 14), (2, 16), (4, 6), (2, 2), (6, 18), (4, 32), (2, 22) })
            CheckMaxPool(3, 2, h, w);
    }

    static void CheckMaxPool(int n, int c, int h, int w)
    {
        var pool = new MaxPool2d("p", new Shape(c, h, w));
        var rng = new Random(5);
        // Values from a small set, so windows often hold ties.
        var x = Enumerable.Range(0, n * c * h * w).Select(_ => (float)rng.Next(-2, 3)).ToArray();
        var y = new float[n * c * (h / 2) * (w / 2)];
        var dy = Enumerable.Range(0, y.Length).Select(i => 1f + i).ToArray();
        var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();  // every entry must be written
        pool.Forward(default, x, y, n, default);
        pool.Backward(default, x, y, dy, dx, default, n, default);
        for (int q = 0; q < n * c; q++)
            for (int oy = 0; oy < h / 2; oy++)
                for (int ox = 0; ox < w / 2; ox++)
                {
                    int o = (q * (h / 2) + oy) * (w / 2) + ox;
                    int[] cells = [q * h * w + 2 * oy * w + 2 * ox, q * h * w + 2 * oy * w + 2 * ox + 1, q * h * w + (2 * oy + 1) * w + 2 * ox, q * h * w + (2 * oy + 1) * w + 2 * ox + 1];
                    float max = cells.Max(i => x[i]);
                    Assert.Equal(max, y[o]);
                    int first = cells.First(i => x[i] == max);
                    foreach (int i in cells) Assert.Equal(i == first ? dy[o] : 0f, dx[i]);
                }
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Relu_backward_matches_its_definition_at_every_width(SimdWidth width)
    {
        using var _ = Simd.Use(width);
        var rng = new Random(2);
        for (int len = 0; len <= 70; len++)
        {
            var y = Enumerable.Range(0, len).Select(i => i % 5 == 0 ? 0f : rng.NextSingle() * 2 - 1).ToArray();
            var dy = Enumerable.Range(0, len).Select(_ => rng.NextSingle()).ToArray();
            var dz = new float[len];
            Activation.Relu.Backward(y, dy, dz);
            for (int i = 0; i < len; i++) Assert.Equal(y[i] > 0 ? dy[i] : 0f, dz[i]);
        }
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Dense_forward_matches_its_definition_for_every_batch_size(SimdWidth width)
    {
        // Below 8 rows the layer takes dot products, from 8 on the transposed product: both, with
        // sizes that are and are not multiples of the vector width.
        using var _ = Simd.Use(width);
        var rng = new Random(3);
        foreach (var (inputs, outputs) in new[] { (120, 84), (84, 10), (400, 120), (5, 3) })
        {
            var dense = new Dense("d", new Shape(inputs, 1, 1), outputs, Activation.None);
            var p = Enumerable.Range(0, dense.ParameterCount).Select(_ => rng.NextSingle() - 0.5f).ToArray();
            foreach (int n in new[] { 1, 7, 8, 16, 19 })
            {
                var x = Enumerable.Range(0, n * inputs).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
                var y = Enumerable.Repeat(float.NaN, n * outputs).ToArray();
                var scratch = Enumerable.Repeat(float.NaN, dense.ScratchLength(n)).ToArray();
                dense.Forward(p, x, y, n, scratch);
                for (int s = 0; s < n; s++)
                    for (int o = 0; o < outputs; o++)
                    {
                        double z = p[outputs * inputs + o];
                        for (int i = 0; i < inputs; i++) z += (double)p[o * inputs + i] * x[s * inputs + i];
                        Assert.True(Math.Abs(y[s * outputs + o] - z) < 1e-4, $"{inputs}→{outputs}, n = {n}, y[{s},{o}] = {y[s * outputs + o]}, expected {z}");
                    }
            }
        }
    }

    public static TheoryData<SimdWidth, string, int> ConvCases()
    {
        var data = new TheoryData<SimdWidth, string, int>();
        // 11 samples: one short chunk, so the scratch past it still holds the NaNs it was filled with;
        // 25: more than one chunk for lenet5's layers (conv1: 16, conv2: 22 samples), the last one short,
        // and one whole group of sixteen samples and a short one for conv2's and C3's backward pass;
        // 5: too few samples for those groups (the chunked form instead).
        foreach (SimdWidth w in GemmTests.Widths())
            foreach (var c in new[] { "conv1", "conv2", "conv3", "C3", "wide", "wide30", "C1", "wide1", "odd17" })
                foreach (int n in new[] { 5, 11, 25 }) data.Add(w, c, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2d_matches_the_direct_definition_on_lenet_shapes(SimdWidth width, string which, int n)
    {
        using var _ = Simd.Use(width);
        var table = new bool[16, 6];
        for (int co = 0; co < 16; co++) for (int ci = 0; ci < 6; ci++) table[co, ci] = (co + ci) % 3 != 0;
        var conv = which switch
        {
            "conv1" => new Conv2d("c", new Shape(1, 28, 28), 6, 5, Padding.Same, Activation.Relu),
            "conv2" => new Conv2d("c", new Shape(6, 14, 14), 16, 5, Padding.Valid, Activation.Relu),
            "conv3" => new Conv2d("c", new Shape(16, 5, 5), 120, 5, Padding.Valid, Activation.None),
            "C3" => new Conv2d("c", new Shape(6, 14, 14), 16, 5, Padding.Valid, Activation.None, table),
            "wide30" => new Conv2d("c", new Shape(3, 12, 12), 30, 3, Padding.Valid, Activation.Relu),  // 30 maps: padded to 32 lanes
            // One input map: the direct kernels (rows of 28, 26 and 17 as two overlapping vectors).
            "C1" => new Conv2d("c", new Shape(1, 32, 32), 6, 5, Padding.Valid, Activation.None),
            "wide1" => new Conv2d("c", new Shape(1, 28, 28), 30, 3, Padding.Valid, Activation.Relu),
            "odd17" => new Conv2d("c", new Shape(1, 9, 19), 12, 3, Padding.Valid, Activation.None),
            _ => new Conv2d("c", new Shape(4, 13, 13), 7, 3, Padding.Same, Activation.Relu),
        };
        var rng = new Random(7);
        var p = Enumerable.Range(0, conv.ParameterCount).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var x = Enumerable.Range(0, n * conv.InputShape.Size).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        var y = new float[n * conv.OutputShape.Size];
        var dy = Enumerable.Range(0, y.Length).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var dp = new float[p.Length];
        var scratch = Enumerable.Repeat(float.NaN, conv.ScratchLength(n)).ToArray();  // nothing may rely on zeroed scratch
        conv.Forward(p, x, y, n, scratch);
        conv.Backward(p, x, y, dy, dx, dp, n, scratch);

        int cin = conv.InputShape.C, h = conv.InputShape.H, w = conv.InputShape.W, cout = conv.OutputShape.C, oh = conv.OutputShape.H, ow = conv.OutputShape.W;
        int k = conv.KernelSize, pad = conv.Padding == Padding.Same ? (k - 1) / 2 : 0, biases = p.Length - cout;
        bool relu = which is "conv1" or "conv2" or "wide" or "wide30" or "wide1";
        float X(int s, int ci, int iy, int ix) => iy < 0 || ix < 0 || iy >= h || ix >= w ? 0 : x[((s * cin + ci) * h + iy) * w + ix];
        float Wt(int co, int ci, int ky, int kx) { var kernel = conv.Kernel(p, co, ci); return kernel.IsEmpty ? 0 : kernel[ky * k + kx]; }
        var dz = new double[y.Length];
        var dxExpected = new double[x.Length];
        var dW = new double[cout, cin, k * k];
        var db = new double[cout];
        for (int s = 0; s < n; s++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double z = p[biases + co];
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++) z += (double)Wt(co, ci, ky, kx) * X(s, ci, oy + ky - pad, ox + kx - pad);
                        int o = ((s * cout + co) * oh + oy) * ow + ox;
                        double expected = relu ? Math.Max(0, z) : z;
                        Assert.True(Math.Abs(y[o] - expected) < 1e-4, $"{which} forward at {o}: {y[o]} vs {expected}");
                        double g = relu && z <= 0 ? 0 : dy[o];
                        db[co] += g;
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int iy = oy + ky - pad, ix = ox + kx - pad;
                                    dW[co, ci, ky * k + kx] += g * X(s, ci, iy, ix);
                                    if (iy >= 0 && ix >= 0 && iy < h && ix < w) dxExpected[((s * cin + ci) * h + iy) * w + ix] += g * Wt(co, ci, ky, kx);
                                }
                    }
        for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(dx[i] - dxExpected[i]) < 1e-4, $"{which} dx at {i}: {dx[i]} vs {dxExpected[i]}");
        CheckParameterGradient(dp, "");
        // Without the input gradient (a first layer) the parameter gradient may take another path.
        var dpAlone = new float[p.Length];
        conv.Backward(p, x, y, dy, Span<float>.Empty, dpAlone, n, scratch);
        CheckParameterGradient(dpAlone, " without dx");

        void CheckParameterGradient(float[] got, string how)
        {
            for (int co = 0; co < cout; co++)
            {
                Assert.True(Math.Abs(got[biases + co] - db[co]) < 1e-3, $"{which}{how} db[{co}]");
                for (int ci = 0; ci < cin; ci++)
                {
                    var kernel = conv.Kernel(got, co, ci);
                    for (int i = 0; i < kernel.Length; i++)
                        Assert.True(Math.Abs(kernel[i] - dW[co, ci, i]) < 1e-3, $"{which}{how} dW[{co},{ci},{i}]: {kernel[i]} vs {dW[co, ci, i]}");
                }
            }
        }
    }
}
