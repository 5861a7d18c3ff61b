// Dropout (Srivastava et al. 2014), inverted: while training each value is kept with probability
// 1 − rate and scaled by 1/(1 − rate), or zeroed, so inference passes values through unchanged.
//   input (N, D) → output (N, D), same shape; no parameters
//   forward:  training: y = x·m, m = 1/(1 − rate) or 0, drawn from the pass's seed;  inference: y = x
//   backward: dx = dy·m (training), dy (inference)
// The mask comes from (the pass's seed, the layer's name), so a training step is the same whatever
// thread runs it. Network.ForInference leaves the layer out.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LeNet.Kernels;

namespace LeNet.Layers;

public sealed class Dropout : Layer
{
    readonly ulong _stream;

    public Dropout(string name, Shape input, float rate) : base(name, input, input, Activation.None)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentOutOfRangeException(nameof(rate), $"A dropout rate is at least 0 and below 1 (got {rate}).");
        Rate = rate;
        foreach (char ch in name) _stream = _stream * 31 + ch;
    }

    /// <summary>The probability that a value is dropped while training.</summary>
    public float Rate { get; }
    public override string Kind => "Dropout";
    public override long Connections => 0;
    public override string Details => $"rate {Rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    // Scratch: [training flag | the mask (n·D)].
    public override int ScratchLength(int n) => 1 + n * OutputShape.Size;

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch) =>
        Forward(p, x, y, n, scratch, ForwardMode.Inference);

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch, ForwardMode mode)
    {
        int size = n * OutputShape.Size;
        bool training = mode.Training && Rate > 0;
        scratch[0] = training ? 1 : 0;
        if (!training)
        {
            x[..size].CopyTo(y);
            return;
        }
        var mask = scratch.Slice(1, size);
        var rng = Rng.For(mode.Seed, _stream);
        float keep = 1 / (1 - Rate);
        for (int i = 0; i < size; i++) mask[i] = rng.NextFloat() < Rate ? 0 : keep;
        Multiply(x[..size], mask, y);
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        if (dx.IsEmpty) return;
        int size = n * OutputShape.Size;
        if (scratch[0] == 0) dy[..size].CopyTo(dx);
        else Multiply(dy[..size], scratch.Slice(1, size), dx);
    }

    static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination) =>
        ElementWise.Run(new Masked(), a.Length, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b),
            ref MemoryMarshal.GetReference(destination), ref Unsafe.NullRef<float>());
}
