// Output criteria: softmax cross-entropy over logits (modern nets) and the 1998 paper's RBF criterion
// over penalties (eq. 9). Each gives the summed loss, the gradient w.r.t. the network output, and
// class probabilities for reporting.
using System.Numerics.Tensors;

namespace LeNet.Training;

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

/// <summary>Softmax over logits fused with cross-entropy: loss = −log softmax(z)_y, ∂/∂z = softmax(z) − onehot(y).</summary>
public sealed class SoftmaxCrossEntropy : Loss
{
    public override double Compute(ReadOnlySpan<float> output, ReadOnlySpan<byte> labels, int n, Span<float> dOutput, float scale, out int correct)
    {
        double total = 0;
        correct = 0;
        Span<float> p = stackalloc float[Classes];
        for (int s = 0; s < n; s++)
        {
            var z = output.Slice(s * Classes, Classes);
            int y = labels[s];
            Probabilities(z, p);
            total += -Math.Log(Math.Max(p[y], 1e-30f));
            if (ArgMax(z) == y) correct++;
            var d = dOutput.Slice(s * Classes, Classes);
            for (int i = 0; i < Classes; i++) d[i] = scale * (p[i] - (i == y ? 1f : 0f));
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
        float max = TensorPrimitives.Max(output);
        double sum = 0;
        foreach (var z in output) sum += Math.Exp(z - max);
        return -(output[label] - max - Math.Log(sum));
    }
}
