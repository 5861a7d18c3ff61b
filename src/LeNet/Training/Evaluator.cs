// Test-set evaluation: accuracy, mean loss, per-class accuracy, confusion matrix and each prediction.
using LeNet.Data;
using LeNet.Models;

namespace LeNet.Training;

public sealed class EvaluationResult
{
    public required int Count { get; init; }
    public required double Accuracy { get; init; }
    public required double Loss { get; init; }
    /// <summary>Accuracy of each true digit 0–9 (NaN when the digit does not occur).</summary>
    public required double[] PerClass { get; init; }
    /// <summary>Confusion[true][predicted] counts.</summary>
    public required int[][] Confusion { get; init; }
    public required byte[] Predictions { get; init; }
    /// <summary>Count × 10 class probabilities.</summary>
    public required float[] Probabilities { get; init; }
    public int Errors => Count - (int)Math.Round(Accuracy * Count);
}

public static class Evaluator
{
    public static EvaluationResult Evaluate(Network network, MnistDataset data, int threads = 0)
    {
        if (data.Count == 0) throw new LeNetException("The test set is empty: there is nothing to evaluate.");
        int n = data.Count, k = Loss.Classes;
        var probs = new float[n * k];
        var raw = new float[n * k];
        network.Predict(data.Images, n, probs, threads, raw);
        var confusion = Enumerable.Range(0, k).Select(_ => new int[k]).ToArray();
        var predictions = new byte[n];
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            var p = probs.AsSpan(i * k, k);
            int guess = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(p), label = data.Labels[i];
            predictions[i] = (byte)guess;
            confusion[label][guess]++;
            if (guess == label) correct++;
            loss += network.Loss.SampleLoss(raw.AsSpan(i * k, k), label);
        }
        var perClass = new double[k];
        for (int c = 0; c < k; c++)
        {
            int total = confusion[c].Sum();
            perClass[c] = total == 0 ? double.NaN : (double)confusion[c][c] / total;
        }
        return new EvaluationResult
        {
            Count = n,
            Accuracy = n == 0 ? 0 : (double)correct / n,
            Loss = n == 0 ? 0 : loss / n,
            PerClass = perClass,
            Confusion = confusion,
            Predictions = predictions,
            Probabilities = probs,
        };
    }
}
