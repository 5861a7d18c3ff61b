// Weight initialisation: He uniform for ReLU, Glorot uniform for tanh/sigmoid (the Keras default),
// and the 1998 paper's uniform ±2.4/F_in for the scaled tanh (Appendix A). Biases start at zero.

namespace LeNet.Layers;

public static class Initializers
{
    public static void Fill(Span<float> weights, int fanIn, int fanOut, Activation activation, Rng rng)
    {
        float limit = activation switch
        {
            Activation.ScaledTanh => 2.4f / fanIn,
            Activation.Relu => MathF.Sqrt(6f / fanIn),
            _ => MathF.Sqrt(6f / (fanIn + fanOut)),
        };
        for (int i = 0; i < weights.Length; i++) weights[i] = rng.Uniform(-limit, limit);
    }
}
