// The branch-free fast paths against their plain meaning: 2x2 max pooling (with ties, which send
// the gradient to the first maximum in row order) and the relu derivative at every SIMD width.
using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Tests.Kernels;
using Xunit;

namespace LeNet.Tests.Layers;

[Collection(SimdCollection.Name)]
public sealed class FastPathTests
{
    [Fact]
    public void MaxPool2d_2x2_routes_the_gradient_to_the_first_maximum_even_with_ties()
    {
        const int n = 3, c = 2, h = 6, w = 8;
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
            Activations.Backward(Activation.Relu, y, dy, dz);
            for (int i = 0; i < len; i++) Assert.Equal(y[i] > 0 ? dy[i] : 0f, dz[i]);
        }
    }
}
