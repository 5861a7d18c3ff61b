// The element-wise kernels at every vector width against their scalar form (the same operator one
// float at a time): activation gradients, optimizer updates and the input encoding, for every length
// from 0 to 70, so each width's body and every tail run. Bit for bit: no width fuses or reorders.
using LeNet.Kernels;
using Xunit;

namespace LeNet.Tests.Kernels;

[Collection(SimdCollection.Name)]
public sealed class ElementWiseTests
{
    static float[] Random(int length, Random rng) => Enumerable.Range(0, length).Select(i => i % 7 == 0 ? 0 : rng.NextSingle() * 2 - 1).ToArray();

    static void Check<TOp>(TOp op, SimdWidth width, bool positiveFourth = false) where TOp : struct, IElementOperator
    {
        using var _ = Simd.Use(width);
        var rng = new Random(11);
        for (int length = 0; length <= 70; length++)
        {
            float[][] streams = [Random(length, rng), Random(length, rng), Random(length, rng), Random(length, rng)];
            if (positiveFourth) streams[3] = streams[3].Select(Math.Abs).ToArray();   // Adam's second moment
            var expected = streams.Select(s => (float[])s.Clone()).ToArray();
            ElementWise.Run(op, length, ref Ref(streams[0]), ref Ref(streams[1]), ref Ref(streams[2]), ref Ref(streams[3]));
            ElementWise.RunScalar(op, length, ref Ref(expected[0]), ref Ref(expected[1]), ref Ref(expected[2]), ref Ref(expected[3]));
            for (int s = 0; s < 4; s++) Assert.Equal(expected[s], streams[s]);
        }

        static ref float Ref(float[] a) => ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(a);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Activation_gradients_match_their_scalar_form(SimdWidth width)
    {
        Check(new ReluGradient(), width);
        Check(new TanhGradient(), width);
        Check(new SigmoidGradient(), width);
        Check(new ScaledTanhGradient(), width);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Optimizer_updates_match_their_scalar_form(SimdWidth width)
    {
        Check(new MomentumUpdate(0.9f, 0.01f), width);
        Check(new AdamUpdate(0.9f, 0.999f, 1.5f, 1.1f, 0.002f, 1e-8f), width, positiveFourth: true);
        Check(new AdamUpdate(0.9f, 0.999f, 1.5f, 1.1f, 0.002f, 1e-8f, decay: 0.05f), width, positiveFourth: true);
        Check(new RmsPropUpdate(0.9f, 0.001f, 1e-7f), width, positiveFourth: false);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Normalisation_and_dropout_operators_match_their_scalar_form(SimdWidth width)
    {
        Check(new ScaleShift(1.7f, -0.3f, 0), width);
        Check(new ScaleShift(0.6f, 0.2f, float.NegativeInfinity), width);
        Check(new AffineCombination(0.8f, -0.25f, 0.1f), width);
        Check(new Masked(), width);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Normalisation_sums_match_their_scalar_form(SimdWidth width)
    {
        using var _ = Simd.Use(width);
        var rng = new Random(12);
        for (int length = 0; length <= 200; length++)
        {
            var a = Random(length, rng);
            var b = Random(length, rng);
            Close(Normalization.SumScalar(new Plain(), a, default), Normalization.Sum(new Plain(), a, default));
            Close(Normalization.SumScalar(new Product(), a, b), Normalization.Sum(new Product(), a, b));
            Close(Normalization.SumScalar(new SquaredDeviation(0.3f), a, default), Normalization.Sum(new SquaredDeviation(0.3f), a, default));
            Close(a.Sum(v => (double)v * v), Normalization.Sum(new SquaredDeviation(0), a, default));
        }
    }

    // Sums in another order: equal to a few float roundings of their size.
    static void Close(double expected, double actual) => Assert.Equal(expected, actual, 1e-5 * Math.Max(1, Math.Abs(expected)));

    [Fact]
    public void The_scalar_form_is_the_definition()
    {
        float[] y = [0.5f, 0, -1], dy = [2, 3, 4], dz = new float[3];
        ElementWise.RunScalar(new ReluGradient(), 3, ref y[0], ref dy[0], ref dz[0], ref dz[0]);
        Assert.Equal(new[] { 2f, 0, 0 }, dz);
        float[] p = [1], g = [0.5f], v = [0.2f];
        ElementWise.RunScalar(new MomentumUpdate(0.9f, 0.1f), 1, ref p[0], ref g[0], ref v[0], ref v[0]);
        Assert.Equal(0.9f * 0.2f + 0.5f, v[0]);
        Assert.Equal(1 - 0.1f * v[0], p[0]);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Widths), MemberType = typeof(GemmTests))]
    public void Pixels_to_floats_matches_the_definition(SimdWidth width)
    {
        using var _ = Simd.Use(width);
        var rng = new Random(4);
        for (int length = 0; length <= 70; length++)
        {
            var bytes = new byte[length];
            rng.NextBytes(bytes);
            var got = Enumerable.Repeat(float.NaN, length + 3).ToArray();
            Pixels.ToFloats(bytes, got, -0.0078f, 1.175f);
            for (int i = 0; i < length; i++) Assert.Equal(1.175f + -0.0078f * bytes[i], got[i]);
            for (int i = length; i < got.Length; i++) Assert.True(float.IsNaN(got[i]));
        }
    }
}
