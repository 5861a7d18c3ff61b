// The 1998 paper's trainable subsampling (S2, S4): each unit sums a 2x2 block of its map, multiplies
// by a trainable coefficient and adds a trainable bias, one pair per map, then the activation.
// input (N, C, H, W) → output (N, C, H/2, W/2); parameters: coefficients (C) then biases (C).
using System.Runtime.CompilerServices;
using LeNet.Kernels;

namespace LeNet.Layers;

public sealed class Subsampling : Layer
{
    readonly int _size;

    public Subsampling(string name, Shape input, Activation activation, int size = 2)
        : base(name, input, MaxPool2d.PooledShape(input, size, ceil: false), activation) => _size = size;

    public override string Kind => "Subsampling";
    public override int ParameterCount => 2 * InputShape.C;
    // Each unit: size² inputs plus the bias, as the paper counts (S2: 14·14·6·5 = 5,880).
    public int Size => _size;
    public override long Connections => (long)OutputShape.Size * (_size * _size + 1);
    public override string Details => $"{_size}x{_size}" + (Activation == Activation.None ? "" : ", " + ActivationName);

    public override void InitializeParameters(Span<float> p, Rng rng) =>
        Initializers.Fill(p[..InputShape.C], _size * _size, 1, Activation, rng);

    public override int ScratchLength(int n) => n * OutputShape.Size + base.ScratchLength(n);

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        int c = InputShape.C, os = OutputShape.H * OutputShape.W;
        var sums = scratch[..(n * OutputShape.Size)];
        Pooling.SumPool(x, sums, n * c, InputShape.H, InputShape.W, _size, 1f);
        for (int q = 0; q < n * c; q++)
        {
            float coef = p[q % c], bias = p[c + q % c];
            var s = sums.Slice(q * os, os);
            var d = y.Slice(q * os, os);
            for (int i = 0; i < os; i++) d[i] = coef * s[i] + bias;
        }
        Activation.Apply(y[..(n * OutputShape.Size)]);
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        int c = InputShape.C, os = OutputShape.H * OutputShape.W, size = n * OutputShape.Size;
        var sums = scratch[..size];
        var dz = PreActivationGradient(y, dy, n, scratch[size..]);
        for (int q = 0; q < n * c; q++)
        {
            var s = sums.Slice(q * os, os);
            var g = dz.Slice(q * os, os);
            float dCoef = 0, dBias = 0;
            for (int i = 0; i < os; i++) { dCoef += g[i] * s[i]; dBias += g[i]; }
            dp[q % c] += dCoef;
            dp[c + q % c] += dBias;
        }
        if (dx.IsEmpty) return;
        // dx = coef · spread(dz); spread first into dx, then scale each map by its coefficient.
        Pooling.SpreadPool(dz, dx, n * c, InputShape.H, InputShape.W, _size, 1f);
        int ins = InputShape.H * InputShape.W;
        for (int q = 0; q < n * c; q++)
        {
            float coef = p[q % c];
            var d = dx.Slice(q * ins, ins);
            for (int i = 0; i < ins; i++) d[i] *= coef;
        }
    }
}
