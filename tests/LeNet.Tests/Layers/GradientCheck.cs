// Finite-difference checks: the loss L = Σ y ⊙ r for a fixed random r, so ∂L/∂y = r, and every
// analytic ∂L/∂x and ∂L/∂p is compared with the central difference (L(θ+ε) − L(θ−ε)) / 2ε, the
// forward pass run in the given mode (training: batch statistics, a fixed dropout mask). A layer's
// statistics (batch normalisation's saved mean and variance) get no gradient and are not checked.
using LeNet.Layers;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Layers;

internal static class GradientCheck
{
    public static void Run(Layer layer, int n = 3, ulong seed = 7, float eps = 1e-2f, float tolerance = 2e-2f,
        Func<Rng, float>? inputSampler = null, ForwardMode mode = default)
    {
        var rng = new Rng(seed);
        var x = new float[n * layer.InputShape.Size];
        for (int i = 0; i < x.Length; i++) x[i] = inputSampler?.Invoke(rng) ?? rng.Uniform(-1, 1);
        var p = new float[layer.ParameterCount];
        layer.InitializeParameters(p, rng);
        for (int i = 0; i < p.Length; i++) p[i] += rng.Uniform(-0.2f, 0.2f); // biases non-zero too
        var r = new float[n * layer.OutputShape.Size];
        for (int i = 0; i < r.Length; i++) r[i] = rng.Uniform(-1, 1);

        var scratch = new float[layer.ScratchLength(n)];
        var y = new float[r.Length];
        layer.Forward(p, x, y, n, scratch, mode);
        var dx = new float[x.Length];
        var dp = new float[p.Length];
        layer.Backward(p, x, y, r, dx, dp, n, scratch);

        double LossAt()
        {
            var yy = new float[r.Length];
            layer.Forward(p, x, yy, n, new float[layer.ScratchLength(n)], mode);
            double s = 0;
            for (int i = 0; i < yy.Length; i++) s += (double)yy[i] * r[i];
            return s;
        }

        Compare("input", x, dx, x.Length);
        Compare("parameter", p, dp, p.Length - layer.StatisticsCount);

        void Compare(string what, float[] theta, float[] analytic, int count)
        {
            double maxAbs = analytic.Length == 0 ? 0 : analytic.Max(v => Math.Abs((double)v));
            for (int i = 0; i < count; i++)
            {
                float keep = theta[i];
                theta[i] = keep + eps; double up = LossAt();
                theta[i] = keep - eps; double down = LossAt();
                theta[i] = keep;
                double numeric = (up - down) / (2 * eps);
                double err = Math.Abs(numeric - analytic[i]) / Math.Max(1.0, Math.Max(Math.Abs(numeric), maxAbs * 0.1));
                Assert.True(err < tolerance,
                    $"{layer.Name}: {what} gradient {i}: analytic {analytic[i]:G6}, numeric {numeric:G6} (error {err:G3})");
            }
        }
    }
}
