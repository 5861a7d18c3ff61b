// Every convolution kernel against ConvolutionReference, the plain loops, on shapes that are and are
// not LeNet's, at every vector width this machine has: forward with and without relu, backward with
// and without the input gradient, and with relu's gradient taken by the kernel where it can. Scratch
// starts as NaN (nothing may rely on zeroed scratch) and is followed by a guard that must stay intact.
using LeNet.Kernels;
using Xunit;

namespace LeNet.Tests.Kernels;

[Collection(SimdCollection.Name)]
public sealed class ConvolutionKernelTests
{
    static readonly ConvolutionShape[] Shapes =
    [
        new(1, 28, 28, 6, 5, 2),    // lenet5 conv1
        new(6, 14, 14, 16, 5, 0),   // lenet5 conv2, C3
        new(16, 5, 5, 120, 5, 0),   // conv3: dense
        new(1, 32, 32, 6, 5, 0),    // C1
        new(1, 28, 28, 30, 3, 0),   // cnn-wide conv1
        new(30, 13, 13, 60, 3, 1),  // cnn-wide conv2
        new(32, 10, 10, 32, 3, 1),  // cnn-deep conv2 (its channels; a smaller map)
        new(32, 7, 7, 64, 3, 1),    // cnn-deep conv3 (its channels; a smaller map)
        new(1, 9, 19, 12, 3, 0),    // one map, odd rows of 17
        new(1, 20, 20, 6, 3, 1),    // one map, rows of 20, same padding
        new(6, 12, 12, 8, 3, 0),    // six maps, eight out, k = 3
        new(6, 9, 11, 4, 5, 0),     // six maps, four out (backward only), rows of 7
        new(6, 10, 13, 24, 3, 0),   // six maps, 24 out
        new(2, 7, 7, 5, 3, 1),
        new(3, 12, 12, 30, 3, 0),   // 30 maps: padded to 32 lanes
        new(4, 13, 13, 7, 3, 1),
        new(7, 6, 9, 16, 3, 0),     // sixteen maps (position-major), odd size
        new(3, 4, 4, 9, 4, 0),      // dense, k = 4
        new(1, 13, 15, 7, 5, 0),    // one map, 5x5: rows of 11, seven maps (a short last tile)
        new(1, 10, 10, 4, 5, 0),    // one map, 5x5: rows of 6 (one vector at 128 bits, under one at 256)
    ];

    public static TheoryData<SimdWidth, int> Cases()
    {
        var data = new TheoryData<SimdWidth, int>();
        foreach (var width in Simd.Available)
            for (int i = 0; i < Shapes.Length; i++) data.Add(width, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_kernel_matches_the_reference(SimdWidth width, int shapeIndex)
    {
        using var _ = Simd.Use(width);
        var shape = Shapes[shapeIndex];
        int tested = 0;
        foreach (var kernel in KernelsFor(shape, width))
            foreach (int n in new[] { 1, 9, 17 })
            {
                if (kernel is SixMapConvolution && n < 8) continue;
                CheckForward(kernel, n);
                CheckBackward(kernel, n);
                tested++;
            }
        Assert.True(tested > 0);
    }

    // The kernels that apply to a shape at a width (those the plan can pick, and the general ones).
    static IEnumerable<ConvolutionKernel> KernelsFor(ConvolutionShape s, SimdWidth width)
    {
        if (s.IsDense) { yield return new DenseConvolution(s); yield break; }
        yield return new ImplicitGemmConvolution(s);
        if (width >= SimdWidth.V128 && LaneConvolution<Lanes128>.Covers(s)) yield return new LaneConvolution<Lanes128>(s);
        if (width >= SimdWidth.V256 && LaneConvolution<Lanes256>.Covers(s)) yield return new LaneConvolution<Lanes256>(s);
        if (width >= SimdWidth.V128 && RowConvolution<Lanes128>.Covers(s)) yield return new RowConvolution<Lanes128>(s);
        if (width >= SimdWidth.V256 && RowConvolution<Lanes256>.Covers(s)) yield return new RowConvolution<Lanes256>(s);
        // Position-major: 512-bit blocks for maps in sixteens, narrower ones for maps in eights (and the plain loops otherwise).
        if (s.OutMaps % 8 == 0) yield return new PositionMajorConvolution(s);
        if (width < SimdWidth.V512) yield break;
        if (SingleMapConvolution.Covers(s)) yield return new SingleMapConvolution(s);
        if (s.InMaps == 6 && s.Pad == 0 && s.OutMaps % 4 == 0) yield return new SixMapConvolution(s);
    }

    static bool HasForward(ConvolutionKernel k) => k is not SixMapConvolution || k.Shape.OutMaps % 8 == 0;
    static bool HasBackward(ConvolutionKernel k) => k is not PositionMajorConvolution;
    static bool NeedsNoDx(ConvolutionKernel k) => k is SingleMapConvolution or RowConvolution<Lanes128> or RowConvolution<Lanes256>;

    static float[] Random(int length, Random rng, float scale = 1) => Enumerable.Range(0, length).Select(_ => (rng.NextSingle() * 2 - 1) * scale).ToArray();

    const int Guard = 64;

    static float[] Scratch(ConvolutionKernel k, int n)
    {
        var scratch = new float[k.ScratchLength(n) + Guard];
        Array.Fill(scratch, float.NaN);
        return scratch;
    }

    static void CheckGuard(float[] scratch, ConvolutionKernel k)
    {
        for (int i = scratch.Length - Guard; i < scratch.Length; i++) Assert.True(float.IsNaN(scratch[i]), $"{k.Name} {k.Shape}: wrote past its scratch");
    }

    static void CheckForward(ConvolutionKernel kernel, int n)
    {
        if (!HasForward(kernel)) return;
        var s = kernel.Shape;
        var rng = new Random(s.GetHashCode() ^ n);
        var w = Random(s.WeightCount, rng, 0.5f);
        var b = Random(s.OutMaps, rng, 0.5f);
        var x = Random(n * s.InputSize, rng);
        foreach (bool relu in new[] { false, true })
        {
            var expected = new float[n * s.OutputSize];
            ConvolutionReference.Forward(s, w, b, x, expected, n, relu);
            var y = Enumerable.Repeat(float.NaN, n * s.OutputSize + Guard).ToArray();
            var scratch = Scratch(kernel, n);
            kernel.Forward(w, b, x, y.AsSpan(0, n * s.OutputSize), n, relu, scratch.AsSpan(0, scratch.Length - Guard));
            CheckGuard(scratch, kernel);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"{kernel.Name} {s} n={n} relu={relu}: y[{i}] = {y[i]}, expected {expected[i]}");
            for (int i = expected.Length; i < y.Length; i++) Assert.True(float.IsNaN(y[i]), $"{kernel.Name} {s}: wrote past y");
        }
    }

    static void CheckBackward(ConvolutionKernel kernel, int n)
    {
        if (!HasBackward(kernel)) return;
        var s = kernel.Shape;
        var rng = new Random(s.GetHashCode() ^ (n * 31));
        var w = Random(s.WeightCount, rng, 0.5f);
        var x = Random(n * s.InputSize, rng);
        // y: relu outputs, a third of them zero; dy: the gradient; dz = y > 0 ? dy : 0.
        var y = Random(n * s.OutputSize, rng).Select((v, i) => i % 3 == 0 ? 0 : Math.Abs(v)).ToArray();
        var dy = Random(n * s.OutputSize + 16, rng);
        var dz = dy.Select((v, i) => i < y.Length && y[i] > 0 ? v : 0).ToArray();
        var dxExpected = new float[n * s.InputSize];
        var dWExpected = Random(s.WeightCount, new Random(1));   // gradients accumulate into what is there
        var dbExpected = Random(s.OutMaps, new Random(2));
        var dW0 = (float[])dWExpected.Clone();
        var db0 = (float[])dbExpected.Clone();
        ConvolutionReference.Backward(s, w, x, dz, dxExpected, dWExpected, dbExpected, n);
        foreach (bool withDx in NeedsNoDx(kernel) ? new[] { false } : new[] { true, false })
            foreach (bool fused in kernel.TakesReluGradient ? new[] { false, true } : new[] { false })
            {
                string what = $"{kernel.Name} {s} n={n} dx={withDx} fusedRelu={fused}";
                var dx = withDx ? Enumerable.Repeat(float.NaN, n * s.InputSize).ToArray() : [];
                var dW = (float[])dW0.Clone();
                var db = (float[])db0.Clone();
                var scratch = Scratch(kernel, n);
                kernel.Backward(w, x, fused ? y : default, fused ? dy : dz, dx, dW, db, n, scratch.AsSpan(0, scratch.Length - Guard));
                CheckGuard(scratch, kernel);
                for (int i = 0; i < dx.Length; i++)
                    Assert.True(Math.Abs(dx[i] - dxExpected[i]) <= 1e-4f * (1 + Math.Abs(dxExpected[i])), $"{what}: dx[{i}] = {dx[i]}, expected {dxExpected[i]}");
                for (int i = 0; i < dW.Length; i++)
                    Assert.True(Math.Abs(dW[i] - dWExpected[i]) <= 1e-3f * (1 + Math.Abs(dWExpected[i])), $"{what}: dW[{i}] = {dW[i]}, expected {dWExpected[i]}");
                for (int i = 0; i < db.Length; i++)
                    Assert.True(Math.Abs(db[i] - dbExpected[i]) <= 1e-3f * (1 + Math.Abs(dbExpected[i])), $"{what}: db[{i}] = {db[i]}, expected {dbExpected[i]}");
            }
    }

    [Fact]
    public void The_plan_picks_the_named_kernels_for_lenet5_at_512_bits()
    {
        if (Simd.Best < SimdWidth.V512) return;
        using var _ = Simd.Use(SimdWidth.V512);
        var conv1 = ConvolutionPlan.For(Shapes[0], 16);
        Assert.Equal(("one input map", "implicit GEMM", "one input map"), (conv1.Forward.Name, conv1.Backward.Name, conv1.WeightGradientOnly.Name));
        var conv2 = ConvolutionPlan.For(Shapes[1], 16);
        Assert.Equal(("six input maps", "six input maps"), (conv2.Forward.Name, conv2.Backward.Name));
        var conv2Few = ConvolutionPlan.For(Shapes[1], 5);
        Assert.Equal(("position-major", "implicit GEMM"), (conv2Few.Forward.Name, conv2Few.Backward.Name));
        Assert.Equal("dense", ConvolutionPlan.For(Shapes[2], 16).Forward.Name);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Below_512_bits_the_plan_puts_samples_in_lanes_or_first_layer_rows_in_vectors(SimdWidth width)
    {
        if (width == SimdWidth.V512) return;
        using var _ = Simd.Use(width);
        foreach (var shape in Shapes.Where(s => !s.IsDense))
        {
            var plan = ConvolutionPlan.For(shape, 16);
            bool lanes = width > SimdWidth.Scalar && LaneConvolution<Lanes128>.Covers(shape);
            var general = lanes ? (width == SimdWidth.V256 ? typeof(LaneConvolution<Lanes256>) : typeof(LaneConvolution<Lanes128>)) : typeof(ImplicitGemmConvolution);
            bool rows = width == SimdWidth.V256 ? RowConvolution<Lanes256>.Covers(shape) : width == SimdWidth.V128 && RowConvolution<Lanes128>.Covers(shape);
            var first = rows ? (width == SimdWidth.V256 ? typeof(RowConvolution<Lanes256>) : typeof(RowConvolution<Lanes128>)) : general;
            Assert.Equal(first, plan.Forward.GetType());
            Assert.Equal(general, plan.Backward.GetType());
            Assert.Equal(first, plan.WeightGradientOnly.GetType());
        }
        // LeNet-5's first layer: rows in vectors at both widths; its second with one sample: position-major forward.
        if (width == SimdWidth.Scalar) return;
        Assert.StartsWith("one input map, rows of", ConvolutionPlan.For(Shapes[0], 1).Forward.Name);
        var one = ConvolutionPlan.For(Shapes[1], 1);
        Assert.Equal(("position-major", "implicit GEMM"), (one.Forward.Name, one.Backward.Name));
    }
}
