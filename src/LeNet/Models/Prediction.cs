namespace LeNet.Models;

/// <summary>What a network reads in one 28x28 image: the most probable digit and every class's probability.</summary>
public sealed record Prediction(int Digit, float[] Probabilities)
{
    /// <summary>The probability of <see cref="Digit"/>.</summary>
    public float Confidence => Probabilities[Digit];

    /// <summary>The <paramref name="k"/> most probable digits, most probable first.</summary>
    public IEnumerable<(int Digit, float Probability)> Top(int k) =>
        Probabilities.Select((p, d) => (Digit: d, Probability: p)).OrderByDescending(x => x.Probability).Take(k);
}
