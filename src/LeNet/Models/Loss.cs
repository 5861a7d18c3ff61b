// Output criteria: softmax cross-entropy over logits (modern nets) and the 1998 paper's RBF criterion
// over penalties (eq. 9). Each gives the summed loss, the gradient w.r.t. the network output, and
// class probabilities for reporting.
using System.Numerics.Tensors;

namespace LeNet.Models;

public abstract class Loss
{
    public const int Classes = 10;

    /// <summary>Sum of the per-sample losses over n samples; writes dOutput = scale · ∂loss/∂output. Counts correct guesses.</summary>
    public abstract double Compute(ReadOnlySpan<float> output, ReadOnlySpan<byte> labels, int n, Span<float> dOutput, float scale, out int correct);

    /// <summary>Probabilities of the 10 classes for one sample's output.</summary>
    public abstract void Probabilities(ReadOnlySpan<float> output, Span<float> probabilities);

    /// <summary>Loss of one sample without a gradient.</summary>
    public abstract double SampleLoss(ReadOnlySpan<float> output, int label);

    protected static int ArgMax(ReadOnlySpan<float> v) => TensorPrimitives.IndexOfMax(v);
}

/// <summary>
/// Softmax over logits fused with cross-entropy: loss = −Σ_i q_i log softmax(z)_i, ∂/∂z = softmax(z) − q,
/// where q is the one-hot label, or with label smoothing ε (Szegedy et al. 2016) (1 − ε)·onehot + ε/10:
/// the network is not pushed towards infinite margins, which generalises better in short runs.
/// </summary>
public sealed class SoftmaxCrossEntropy : Loss
{
    public SoftmaxCrossEntropy(float smoothing = 0)
    {
        if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "Label smoothing must be in [0, 1).");
        Smoothing = smoothing;
    }

    public float Smoothing { get; }

    public override double Compute(ReadOnlySpan<float> output, ReadOnlySpan<byte> labels, int n, Span<float> dOutput, float scale, out int correct)
    {
        double total = 0;
        correct = 0;
        float eps = Smoothing, other = eps / Classes, target = 1 - eps + other;
        Span<float> p = stackalloc float[Classes];
        for (int s = 0; s < n; s++)
        {
            var z = output.Slice(s * Classes, Classes);
            int y = labels[s];
            Probabilities(z, p);
            total += eps == 0 ? -Math.Log(Math.Max(p[y], 1e-30f)) : SampleLoss(z, y);
            if (ArgMax(z) == y) correct++;
            var d = dOutput.Slice(s * Classes, Classes);
            for (int i = 0; i < Classes; i++) d[i] = scale * (p[i] - (i == y ? target : other));
        }
        return total;
    }

    /// <summary>p_i = exp(z_i − max z) / Σ_j exp(z_j − max z): subtracting the max keeps exp finite.</summary>
    public override void Probabilities(ReadOnlySpan<float> output, Span<float> probabilities)
    {
        var p = probabilities[..output.Length];
        TensorPrimitives.Subtract(output, TensorPrimitives.Max(output), p);
        TensorPrimitives.Exp(p, p);
        TensorPrimitives.Divide(p, TensorPrimitives.Sum(p), p);
    }

    public override double SampleLoss(ReadOnlySpan<float> output, int label)
    {
        // log softmax(z)_i = z_i − max − log Σ exp(z_j − max)
        float max = TensorPrimitives.Max(output);
        double sum = 0, sumLog = 0;
        foreach (var z in output) sum += Math.Exp(z - max);
        double logSum = Math.Log(sum);
        double loss = -(output[label] - max - logSum);
        if (Smoothing == 0) return loss;
        foreach (var z in output) sumLog += z - max - logSum;
        return (1 - Smoothing) * loss - Smoothing / Classes * sumLog;
    }
}

/// <summary>
/// The paper's criterion for RBF outputs (eq. 9): E = y_D + log(e^(−j) + Σ_i e^(−y_i)), where y are the
/// penalties and D the correct class. The first term pulls the right unit's penalty down; the second
/// pushes the others up, and the constant j stops it pushing penalties that are already large.
/// Probabilities are softmax(−y). The paper leaves j open; we use j = 1.
/// </summary>
public sealed class RbfMaximumAPosteriori(float j = 1f) : Loss
{
    public float J { get; } = j;

    public override double Compute(ReadOnlySpan<float> output, ReadOnlySpan<byte> labels, int n, Span<float> dOutput, float scale, out int correct)
    {
        double total = 0;
        correct = 0;
        Span<double> e = stackalloc double[Classes];
        for (int s = 0; s < n; s++)
        {
            var y = output.Slice(s * Classes, Classes);
            int label = labels[s];
            float min = TensorPrimitives.Min(y);
            // log(e^−j + Σ e^−y_i) computed relative to m = min(j, min y) so nothing overflows.
            double m = Math.Min(J, min), z = Math.Exp(-(J - m));
            for (int i = 0; i < Classes; i++) { e[i] = Math.Exp(-(y[i] - m)); z += e[i]; }
            total += y[label] + (-m + Math.Log(z));
            if (TensorPrimitives.IndexOfMin(y) == label) correct++;
            var d = dOutput.Slice(s * Classes, Classes);
            for (int i = 0; i < Classes; i++) d[i] = scale * (float)((i == label ? 1 : 0) - e[i] / z);
        }
        return total;
    }

    public override void Probabilities(ReadOnlySpan<float> output, Span<float> probabilities)
    {
        var p = probabilities[..output.Length];
        float min = TensorPrimitives.Min(output);
        for (int i = 0; i < p.Length; i++) p[i] = MathF.Exp(-(output[i] - min));
        TensorPrimitives.Divide(p, TensorPrimitives.Sum(p), p);
    }

    public override double SampleLoss(ReadOnlySpan<float> output, int label)
    {
        float min = TensorPrimitives.Min(output);
        double m = Math.Min(J, min), z = Math.Exp(-(J - m));
        foreach (var y in output) z += Math.Exp(-(y - m));
        return output[label] - m + Math.Log(z);
    }
}
