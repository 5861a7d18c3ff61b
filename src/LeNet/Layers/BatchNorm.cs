// Batch normalisation (Ioffe & Szegedy 2015) per channel, then the activation: each channel's values
// over the batch and the plane are brought to mean 0 and variance 1, then scaled and shifted.
//   input (N, C, H, W) → output (N, C, H, W)
//   parameters: γ (C), β (C), then the statistics for inference: mean (C), variance (C)
//   forward:  training: μ, σ² of the batch (biased); inference: the saved mean and variance;
//             x̂ = (x − μ)/√(σ² + ε);  y = f(γ·x̂ + β)
//   backward: dz = dy ⊙ f′;  dγ = Σ dz·x̂;  dβ = Σ dz;
//             training: dx = γ/√(σ²+ε) · (dz − mean(dz) − x̂·mean(dz·x̂));  inference: dx = γ/√(σ²+ε) · dz
// Training does not keep running averages: Network.RecomputeStatistics sets the saved statistics
// from training images after each epoch. Network.ForInference folds the layer into the convolution
// or dense layer before it.
using LeNet.Kernels;

namespace LeNet.Layers;

public sealed class BatchNorm : Layer
{
    public const float Epsilon = 1e-5f;

    public BatchNorm(string name, Shape input, Activation activation) : base(name, input, input, activation) { }

    public override string Kind => "BatchNorm";
    int C => InputShape.C;
    int Plane => InputShape.H * InputShape.W;
    public override int ParameterCount => 4 * C;
    public override int StatisticsCount => 2 * C;
    public override long Connections => InputShape.Size;
    public override string Details => Activation == Activation.None ? "" : ActivationName;

    /// <summary>γ = 1, β = 0, mean 0, variance 1.</summary>
    public override void InitializeParameters(Span<float> p, Rng rng)
    {
        p[..C].Fill(1);
        p.Slice(C, C).Clear();
        p.Slice(2 * C, C).Clear();
        p.Slice(3 * C, C).Fill(1);
    }

    public override string? ParameterProblem(ReadOnlySpan<float> p)
    {
        foreach (float v in p.Slice(3 * C, C))
            if (v < 0) return "has a negative variance";
        return null;
    }

    // Scratch: [training flag | μ (C) | 1/√(σ²+ε) (C) | σ² (C)] then, with an activation, dz (n·C·H·W).
    int DzAt => 1 + 3 * C;
    public override int ScratchLength(int n) => DzAt + (Activation == Activation.None ? 0 : n * OutputShape.Size);

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch) =>
        Forward(p, x, y, n, scratch, ForwardMode.Inference);

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch, ForwardMode mode)
    {
        int c = C, plane = Plane;
        var mean = scratch.Slice(1, c);
        var invStd = scratch.Slice(1 + c, c);
        var variance = scratch.Slice(1 + 2 * c, c);
        scratch[0] = mode.Training ? 1 : 0;
        if (mode.Training) BatchStatistics(x, n, mean, variance);
        else
        {
            p.Slice(2 * c, c).CopyTo(mean);
            p.Slice(3 * c, c).CopyTo(variance);
        }
        float floor = Activation == Activation.Relu ? 0 : float.NegativeInfinity;
        for (int ch = 0; ch < c; ch++)
        {
            invStd[ch] = 1 / MathF.Sqrt(variance[ch] + Epsilon);
            float scale = p[ch] * invStd[ch], shift = p[c + ch] - mean[ch] * scale;
            for (int s = 0; s < n; s++)
            {
                int at = (s * c + ch) * plane;
                Normalization.Normalize(x.Slice(at, plane), y.Slice(at, plane), scale, shift, floor);
            }
        }
        if (Activation is not (Activation.None or Activation.Relu)) Activation.Apply(y[..(n * OutputShape.Size)]);
    }

    /// <summary>Each channel's mean and (biased) variance over the n samples' planes, the variance about the mean (two passes).</summary>
    void BatchStatistics(ReadOnlySpan<float> x, int n, Span<float> mean, Span<float> variance)
    {
        int c = C, plane = Plane;
        double count = (double)n * plane;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int s = 0; s < n; s++) sum += Normalization.Sum(new Plain(), x.Slice((s * c + ch) * plane, plane), default);
            float mu = (float)(sum / count);
            double squares = 0;
            for (int s = 0; s < n; s++) squares += Normalization.Sum(new SquaredDeviation(mu), x.Slice((s * c + ch) * plane, plane), default);
            mean[ch] = mu;
            variance[ch] = (float)(squares / count);
        }
    }

    /// <summary>The mean and variance the last forward pass on this scratch memory normalised with (the batch's, when training).</summary>
    public void StatisticsOfLastPass(ReadOnlySpan<float> scratch, Span<float> mean, Span<float> variance)
    {
        scratch.Slice(1, C).CopyTo(mean);
        scratch.Slice(1 + 2 * C, C).CopyTo(variance);
    }

    /// <summary>The per-channel scale γ/√(σ²+ε) and shift β − μ·scale of inference: y = f(x·scale + shift).</summary>
    public void InferenceScaleShift(ReadOnlySpan<float> p, Span<float> scale, Span<float> shift)
    {
        int c = C;
        for (int ch = 0; ch < c; ch++)
        {
            scale[ch] = p[ch] / MathF.Sqrt(p[3 * c + ch] + Epsilon);
            shift[ch] = p[c + ch] - p[2 * c + ch] * scale[ch];
        }
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        int c = C, plane = Plane;
        bool training = scratch[0] != 0;
        ReadOnlySpan<float> mean = scratch.Slice(1, c), invStd = scratch.Slice(1 + c, c);
        ReadOnlySpan<float> dz = dy[..(n * OutputShape.Size)];
        if (Activation != Activation.None)
        {
            var buffer = scratch.Slice(DzAt, n * OutputShape.Size);
            Activation.Backward(y[..buffer.Length], dz, buffer);
            dz = buffer;
        }
        double count = (double)n * plane;
        for (int ch = 0; ch < c; ch++)
        {
            double sumDz = 0, sumDzX = 0;
            for (int s = 0; s < n; s++)
            {
                int at = (s * c + ch) * plane;
                sumDz += Normalization.Sum(new Plain(), dz.Slice(at, plane), default);
                sumDzX += Normalization.Sum(new Product(), dz.Slice(at, plane), x.Slice(at, plane));
            }
            double sumDzXhat = invStd[ch] * (sumDzX - mean[ch] * sumDz);
            dp[ch] += (float)sumDzXhat;
            dp[c + ch] += (float)sumDz;
            if (dx.IsEmpty) continue;
            // dx = a·dz + b·x + c: the formula above with x̂ = (x − μ)/√(σ²+ε) multiplied out.
            float a = p[ch] * invStd[ch], b = 0, shift = 0;
            if (training)
            {
                float meanDz = (float)(sumDz / count), meanDzXhat = (float)(sumDzXhat / count);
                b = -a * invStd[ch] * meanDzXhat;
                shift = -a * meanDz - b * mean[ch];
            }
            for (int s = 0; s < n; s++)
            {
                int at = (s * c + ch) * plane;
                Normalization.InputGradient(dz.Slice(at, plane), x.Slice(at, plane), dx.Slice(at, plane), a, b, shift);
            }
        }
    }
}
