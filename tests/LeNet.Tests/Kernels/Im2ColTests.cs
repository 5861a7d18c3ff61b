using LeNet.Kernels;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Kernels;

public class Im2ColTests
{
    public static TheoryData<int, int, int, int, int> Shapes() => new()
    {
        // n, c, size, kernel, pad: rows narrower than a vector, between one and two, wider, and padded.
        { 2, 1, 6, 3, 0 }, { 3, 2, 12, 3, 1 }, { 2, 6, 14, 5, 0 }, { 2, 1, 28, 5, 2 }, { 1, 3, 20, 5, 2 }, { 2, 2, 37, 3, 1 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Unfold_matches_the_definition_and_Fold_is_its_adjoint(int n, int c, int size, int k, int pad)
    {
        var rng = new Rng(5);
        int o = size + 2 * pad - k + 1, l = n * o * o, rows = c * k * k;
        var x = Enumerable.Range(0, n * c * size * size).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var col = Enumerable.Repeat(float.NaN, rows * l).ToArray();
        Im2Col.Unfold(x, n, c, size, size, k, k, pad, o, o, col);
        for (int ci = 0; ci < c; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                    for (int s = 0; s < n; s++)
                        for (int oy = 0; oy < o; oy++)
                            for (int ox = 0; ox < o; ox++)
                            {
                                int iy = oy + ky - pad, ix = ox + kx - pad;
                                float expected = iy < 0 || iy >= size || ix < 0 || ix >= size ? 0 : x[((s * c + ci) * size + iy) * size + ix];
                                Assert.Equal(expected, col[((ci * k + ky) * k + kx) * l + (s * o + oy) * o + ox]);
                            }

        // <Unfold(x), g> = <x, Fold(g)> for any g.
        var g = Enumerable.Range(0, rows * l).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var dx = new float[x.Length];
        Im2Col.Fold(g, n, c, size, size, k, k, pad, o, o, dx);
        double left = 0, right = 0;
        for (int i = 0; i < g.Length; i++) left += (double)col[i] * g[i];
        for (int i = 0; i < x.Length; i++) right += (double)x[i] * dx[i];
        Assert.Equal(left, right, 3);
    }
}
