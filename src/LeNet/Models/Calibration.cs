// How far a model's probabilities can be trusted, fitted on images it was not trained on and stored
// in its model file (metadata "calibration"). Temperature scaling (Guo et al. 2017): the probabilities
// become softmax(log p / T), with the one T that minimises the negative log-likelihood of held-out
// labels; the ranking of the classes does not change, only how sure the answer claims to be. The
// expected calibration error (ECE, 15 equal-width bins of confidence) measures the gap between
// claimed confidence and accuracy, before and after.
using System.Text.Json.Nodes;

namespace LeNet.Models;

/// <param name="Temperature">T in softmax(log p / T); above 1 softens an over-confident model.</param>
/// <param name="UnsureBelow">A calibrated top probability below this is reported as uncertain.</param>
/// <param name="Data">What T and the threshold were fitted on.</param>
/// <param name="EceBefore">Expected calibration error on the held-out data before scaling.</param>
/// <param name="EceAfter">The same after scaling.</param>
public sealed record Calibration(float Temperature, float UnsureBelow, string Data, double EceBefore, double EceAfter)
{
    /// <summary>A model with no calibration in its file: probabilities as they are, unsure below 0.8.</summary>
    public static Calibration None { get; } = new(1, 0.8f, "none", double.NaN, double.NaN);

    /// <summary>Scales one image's 10 probabilities in place.</summary>
    public void Apply(Span<float> probabilities)
    {
        if (Temperature == 1) return;
        double max = double.MinValue;
        Span<double> logits = stackalloc double[probabilities.Length];
        for (int i = 0; i < probabilities.Length; i++)
        {
            logits[i] = Math.Log(Math.Max(probabilities[i], 1e-30)) / Temperature;
            max = Math.Max(max, logits[i]);
        }
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += logits[i] = Math.Exp(logits[i] - max);
        for (int i = 0; i < logits.Length; i++) probabilities[i] = (float)(logits[i] / sum);
    }

    public JsonObject ToJson() => new()
    {
        ["temperature"] = Math.Round(Temperature, 4),
        ["unsureBelow"] = Math.Round(UnsureBelow, 4),
        ["data"] = Data,
        ["eceBefore"] = Math.Round(EceBefore, 5),
        ["eceAfter"] = Math.Round(EceAfter, 5),
    };

    /// <summary>The calibration in a model file's metadata, or null when it has none (or a malformed one).</summary>
    public static Calibration? FromMetadata(JsonObject metadata)
    {
        if (metadata["calibration"] is not JsonObject c) return null;
        try
        {
            float t = c["temperature"]?.GetValue<float>() ?? float.NaN, u = c["unsureBelow"]?.GetValue<float>() ?? float.NaN;
            if (!float.IsFinite(t) || t is <= 0.05f or > 20 || !float.IsFinite(u) || u is < 0 or > 1) return null;
            return new Calibration(t, u, c["data"]?.GetValue<string>() ?? "", c["eceBefore"]?.GetValue<double>() ?? double.NaN, c["eceAfter"]?.GetValue<double>() ?? double.NaN);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException) { return null; }
    }

    /// <summary>The temperature that minimises the negative log-likelihood of the labels (golden-section search on log T).</summary>
    public static float FitTemperature(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels)
    {
        var p = probabilities.ToArray();
        var y = labels.ToArray();
        double lo = Math.Log(0.2), hi = Math.Log(10), g = (Math.Sqrt(5) - 1) / 2;
        double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
        double fa = Nll(p, y, Math.Exp(a)), fb = Nll(p, y, Math.Exp(b));
        for (int i = 0; i < 60; i++)
        {
            if (fa < fb) { hi = b; b = a; fb = fa; a = hi - g * (hi - lo); fa = Nll(p, y, Math.Exp(a)); }
            else { lo = a; a = b; fa = fb; b = lo + g * (hi - lo); fb = Nll(p, y, Math.Exp(b)); }
        }
        return (float)Math.Exp((lo + hi) / 2);
    }

    static double Nll(float[] p, byte[] y, double t)
    {
        double total = 0;
        int classes = p.Length / y.Length;
        for (int n = 0; n < y.Length; n++)
        {
            double max = double.MinValue, sum = 0;
            for (int k = 0; k < classes; k++) max = Math.Max(max, Math.Log(Math.Max(p[n * classes + k], 1e-30)) / t);
            for (int k = 0; k < classes; k++) sum += Math.Exp(Math.Log(Math.Max(p[n * classes + k], 1e-30)) / t - max);
            total -= Math.Log(Math.Max(p[n * classes + y[n]], 1e-30)) / t - max - Math.Log(sum);
        }
        return total / y.Length;
    }

    /// <summary>Expected calibration error: the mean |accuracy − confidence| over 15 bins of top probability, weighted by count.</summary>
    public static double ExpectedCalibrationError(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, int bins = 15)
    {
        int classes = probabilities.Length / labels.Length;
        var count = new int[bins];
        var confidence = new double[bins];
        var correct = new double[bins];
        for (int n = 0; n < labels.Length; n++)
        {
            var p = probabilities.Slice(n * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++) if (p[k] > p[best]) best = k;
            int b = Math.Min(bins - 1, (int)(p[best] * bins));
            count[b]++; confidence[b] += p[best]; correct[b] += best == labels[n] ? 1 : 0;
        }
        double ece = 0;
        for (int b = 0; b < bins; b++)
            if (count[b] > 0) ece += Math.Abs(correct[b] - confidence[b]) / labels.Length;
        return ece;
    }
}
