// A self-check of the kernels on the machine at hand: every kernel at every vector width the hardware
// accelerates, against its scalar reference, on a few shapes (LeNet's and others). It is what
// `lenet selfcheck` runs, so a new platform (ARM64, a CPU without AVX-512) can show that it takes the
// vector paths and that they are right. The test suite checks the same more widely.

namespace LeNet.Kernels;

/// <summary>One kernel checked at one width: the largest difference from the reference, relative to the values' scale.</summary>
public sealed record KernelCheckResult(string Kernel, SimdWidth Width, string Case, double Error, bool Passed);

public static class KernelCheck
{
    const double Tolerance = 1e-4;

    static readonly ConvolutionShape[] Shapes =
    [
        new(1, 28, 28, 6, 5, 2), new(6, 14, 14, 16, 5, 0), new(16, 5, 5, 120, 5, 0), new(1, 32, 32, 6, 5, 0), new(3, 9, 11, 7, 3, 1),
    ];

    /// <summary>Runs every check at every width this machine has and returns the results.</summary>
    public static IReadOnlyList<KernelCheckResult> Run()
    {
        var results = new List<KernelCheckResult>();
        foreach (var width in Simd.Available)
        {
            using var _ = Simd.Use(width);
            foreach (var shape in Shapes)
            {
                var plan = ConvolutionPlan.For(shape, 17);
                foreach (var kernel in new[] { plan.Forward, plan.Backward, plan.WeightGradientOnly }.Distinct())
                    results.Add(Check(kernel, width, shape, 17, needDx: kernel != plan.WeightGradientOnly || plan.Backward == plan.WeightGradientOnly));
                // One image (inference) may take another forward kernel.
                var single = ConvolutionPlan.For(shape, 1).Forward;
                if (single.GetType() != plan.Forward.GetType()) results.Add(Check(single, width, shape, 1, needDx: false));
            }
            results.Add(CheckGemm(width));
            results.Add(CheckElementWise(width));
            results.Add(CheckNormalization(width));
            results.Add(CheckPooling(width));
        }
        return results;
    }

    static float[] Random(Rng rng, int length) => Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray();

    static double Error(ReadOnlySpan<float> got, ReadOnlySpan<float> expected)
    {
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, double.IsFinite(got[i]) ? Math.Abs(got[i] - expected[i]) / (1 + Math.Abs(expected[i])) : double.PositiveInfinity);
        return worst;
    }

    static KernelCheckResult Check(ConvolutionKernel kernel, SimdWidth width, ConvolutionShape s, int n, bool needDx)
    {
        var rng = new Rng(7);
        var w = Random(rng, s.WeightCount);
        var b = Random(rng, s.OutMaps);
        var x = Random(rng, n * s.InputSize);
        var dz = Random(rng, n * s.OutputSize + 16);
        var scratch = new float[kernel.ScratchLength(n)];
        double error = 0;
        string what = "";
        if (kernel is not SixMapConvolution || s.OutMaps % 8 == 0)
        {
            var expected = new float[n * s.OutputSize];
            var y = new float[expected.Length];
            ConvolutionReference.Forward(s, w, b, x, expected, n, relu: true);
            try
            {
                kernel.Forward(w, b, x, y, n, relu: true, scratch);
                error = Error(y, expected);
                what = "forward";
            }
            catch (NotSupportedException) { }
        }
        try
        {
            var dxExpected = new float[n * s.InputSize];
            var dWExpected = new float[s.WeightCount];
            var dbExpected = new float[s.OutMaps];
            ConvolutionReference.Backward(s, w, x, dz, needDx ? dxExpected : default, dWExpected, dbExpected, n);
            var dx = needDx ? new float[dxExpected.Length] : [];
            var dW = new float[s.WeightCount];
            var db = new float[s.OutMaps];
            kernel.Backward(w, x, default, dz, dx, dW, db, n, scratch);
            error = Math.Max(error, Math.Max(Error(dW, dWExpected) / 10, Error(db, dbExpected) / 10));
            if (needDx) error = Math.Max(error, Error(dx, dxExpected));
            what += what.Length > 0 ? " and backward" : "backward";
        }
        catch (NotSupportedException) { }
        return new KernelCheckResult(kernel.Name, width, $"{s}: {what}", error, error <= Tolerance);
    }

    static KernelCheckResult CheckGemm(SimdWidth width)
    {
        var rng = new Rng(3);
        double error = 0;
        foreach (var (m, n, k) in new[] { (6, 33, 25), (16, 100, 150), (9, 17, 7), (1, 10, 84) })
        {
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c = new float[m * n];
            var bt = new float[n * k];
            var ct = new float[m * n];
            for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
            var expected = new float[m * n];
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) expected[i * n + j] += a[i * k + p] * b[p * n + j];
            Gemm.MultiplyNN(m, n, k, a, k, b, n, c, n, accumulate: false);
            Gemm.MultiplyNT(m, n, k, a, k, bt, k, ct, n, accumulate: false);
            error = Math.Max(error, Math.Max(Error(c, expected), Error(ct, expected)) / k);
        }
        return new KernelCheckResult("GEMM", width, "A·B and A·Bᵀ", error, error <= Tolerance);
    }

    static KernelCheckResult CheckElementWise(SimdWidth width)
    {
        var rng = new Rng(5);
        double error = 0;
        for (int length = 1; length <= 40; length += 3)
        {
            float[][] s = [Random(rng, length), Random(rng, length), Random(rng, length), Random(rng, length).Select(Math.Abs).ToArray()];
            var r = s.Select(v => (float[])v.Clone()).ToArray();
            var op = new AdamUpdate(0.9f, 0.999f, 1.2f, 1.1f, 0.01f, 1e-8f, decay: 0.05f);
            ElementWise.Run(op, length, ref s[0][0], ref s[1][0], ref s[2][0], ref s[3][0]);
            ElementWise.RunScalar(op, length, ref r[0][0], ref r[1][0], ref r[2][0], ref r[3][0]);
            var average = new AverageUpdate(0.99f);
            ElementWise.Run(average, length, ref s[2][0], ref s[0][0], ref s[2][0], ref s[2][0]);
            ElementWise.RunScalar(average, length, ref r[2][0], ref r[0][0], ref r[2][0], ref r[2][0]);
            for (int i = 0; i < 4; i++) error = Math.Max(error, Error(s[i], r[i]));
        }
        return new KernelCheckResult("element-wise", width, "AdamW update and weight average, lengths 1–40", error, error == 0);
    }

    static KernelCheckResult CheckNormalization(SimdWidth width)
    {
        var rng = new Rng(6);
        double error = 0, sumError = 0;
        for (int length = 1; length <= 40; length += 3)
        {
            float[][] s = [Random(rng, length), Random(rng, length), Random(rng, length), Random(rng, length)];
            var r = s.Select(v => (float[])v.Clone()).ToArray();
            ElementWise.Run(new ScaleShift(1.3f, -0.2f, 0), length, ref s[0][0], ref s[1][0], ref s[2][0], ref s[3][0]);
            ElementWise.RunScalar(new ScaleShift(1.3f, -0.2f, 0), length, ref r[0][0], ref r[1][0], ref r[2][0], ref r[3][0]);
            ElementWise.Run(new AffineCombination(0.7f, -0.4f, 0.1f), length, ref s[0][0], ref s[1][0], ref s[2][0], ref s[3][0]);
            ElementWise.RunScalar(new AffineCombination(0.7f, -0.4f, 0.1f), length, ref r[0][0], ref r[1][0], ref r[2][0], ref r[3][0]);
            for (int i = 0; i < 4; i++) error = Math.Max(error, Error(s[i], r[i]));
            float sum = Normalization.Sum(new Product(), s[0], s[1]), reference = Normalization.SumScalar(new Product(), s[0], s[1]);
            sumError = Math.Max(sumError, Math.Abs(sum - reference) / Math.Max(1, Math.Abs(reference)));
        }
        return new KernelCheckResult("batch norm", width, "scale-shift, input gradient, sums, lengths 1–40", Math.Max(error, sumError), error == 0 && sumError <= 1e-5);
    }

    // 2x2 max pooling and its gradient (to each window's first maximum in row order) against the definition,
    // on values from a small set so that windows hold ties.
    static KernelCheckResult CheckPooling(SimdWidth width)
    {
        var rng = new Rng(8);
        double error = 0;
        foreach (var (h, w) in new[] { (28, 28), (10, 10), (6, 18), (4, 8), (2, 32) })
        {
            const int planes = 3;
            var x = Enumerable.Range(0, planes * h * w).Select(_ => MathF.Round(rng.Uniform(-2, 2))).ToArray();
            int outputs = planes * (h / 2) * (w / 2);
            var y = new float[outputs];
            var dy = Enumerable.Range(0, outputs).Select(i => 1f + i).ToArray();
            var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
            Pooling.Max2x2(x, planes, h, w, y);
            Pooling.Max2x2Backward(x, y, dy, planes, h, w, dx);
            var expectedY = new float[outputs];
            var expectedDx = new float[x.Length];
            for (int q = 0; q < planes * (h / 2); q++)
                for (int ox = 0; ox < w / 2; ox++)
                {
                    int o = q * (w / 2) + ox, top = 2 * q * w + 2 * ox;
                    int[] cells = [top, top + 1, top + w, top + w + 1];
                    int first = cells[0];
                    foreach (int c in cells) if (x[c] > x[first]) first = c;
                    expectedY[o] = x[first];
                    expectedDx[first] = dy[o];
                }
            error = Math.Max(error, Math.Max(Error(y, expectedY), Error(dx, expectedDx)));
        }
        return new KernelCheckResult("max pooling", width, "2x2 forward and gradient, with ties", error, error == 0);
    }
}
