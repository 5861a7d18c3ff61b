// 2-D convolution, stride 1, 'valid' or 'same' zero padding, with an optional connection table (the
// 1998 paper's C3, Table I) that restricts which input maps feed each output map.
//   input (N, Cin, H, W) → output (N, Cout, OH, OW)
//   parameters: the connected k×k kernels, then the biases (Cout)
//   forward:  z[s,co,oy,ox] = b[co] + Σ_ci,ky,kx w[co,ci,ky,kx]·x[s,ci,oy+ky−pad,ox+kx−pad];  y = f(z)
//   backward: dz = dy ⊙ f′;  dW[co,ci,ky,kx] = Σ dz[s,co,oy,ox]·x[s,ci,oy+ky−pad,ox+kx−pad];  db[co] = Σ dz[s,co,·,·]
//             dx[s,ci,iy,ix] = Σ dz[s,co,oy,ox]·w[co,ci,iy−oy+pad,ix−ox+pad]
// The sums themselves run in a ConvolutionKernel (Kernels/Convolution) that ConvolutionPlan picks
// for the shape, the batch size and the vector width; ConvolutionReference is the plain loops above.
// With a table, the kernels see dense weights with zeros for the pairs the table leaves out.
using System.Collections.Concurrent;
using LeNet.Kernels;

namespace LeNet.Layers;

public enum Padding { Valid, Same }

public sealed class Conv2d : Layer
{
    readonly ConvolutionShape _shape;
    readonly int _kernelCount;
    readonly bool[,]? _table;          // [cout, cin]: true where input map cin feeds output map cout
    readonly int[]? _tableOffsets;     // [cout*cin] → offset of that kernel in the parameters, or -1
    readonly ConcurrentDictionary<(int N, SimdWidth Width), ConvolutionPlan> _plans = new();

    public Conv2d(string name, Shape input, int outChannels, int kernel, Padding padding, Activation activation, bool[,]? connectionTable = null)
        : base(name, input, OutputOf(input, outChannels, kernel, padding), activation)
    {
        Padding = padding;
        _shape = new ConvolutionShape(input.C, input.H, input.W, outChannels, kernel, padding == Padding.Same ? (kernel - 1) / 2 : 0);
        _table = connectionTable;
        _kernelCount = outChannels * input.C;
        if (connectionTable is null) return;
        if (connectionTable.GetLength(0) != outChannels || connectionTable.GetLength(1) != input.C)
            throw new ArgumentException($"Connection table of {name} must be {outChannels}x{input.C}.");
        _tableOffsets = new int[outChannels * input.C];
        int next = 0;
        for (int co = 0; co < outChannels; co++)
            for (int ci = 0; ci < input.C; ci++)
                _tableOffsets[co * input.C + ci] = connectionTable[co, ci] ? (next++) * kernel * kernel : -1;
        _kernelCount = next;
    }

    static Shape OutputOf(Shape input, int outChannels, int kernel, Padding padding) => padding == Padding.Same
        ? new Shape(outChannels, input.H, input.W)
        : new Shape(outChannels, input.H - kernel + 1, input.W - kernel + 1);

    public override string Kind => "Conv2d";
    public Padding Padding { get; }
    public int KernelSize => _shape.K;
    public bool[,]? ConnectionTable => _table;
    int Cin => _shape.InMaps;
    int Cout => _shape.OutMaps;
    int KK => _shape.K * _shape.K;
    int WeightCount => _kernelCount * KK;
    int DenseWeightCount => _table is null ? 0 : _shape.WeightCount;
    public override int ParameterCount => WeightCount + Cout;

    /// <summary>Per output unit, one weight per connected input pixel plus the bias (the paper's count).</summary>
    public override long Connections => (long)OutputShape.H * OutputShape.W * (WeightCount + Cout);

    public override string Details => $"{_shape.K}x{_shape.K}{(Padding == Padding.Same ? " same" : "")}"
        + (_table is null ? "" : ", table") + (Activation == Activation.None ? "" : ", " + ActivationName);

    /// <summary>Fan-in of one output unit, for initialisation.</summary>
    public int FanIn => _kernelCount / Cout * KK;

    public override void InitializeParameters(Span<float> p, Rng rng)
    {
        if (_table is null) { Initializers.Fill(p[..WeightCount], FanIn, Cout * KK, Activation, rng); return; }
        // With a table each output map has its own fan-in: the maps it reads times k².
        for (int co = 0; co < Cout; co++)
        {
            int fanIn = 0;
            for (int ci = 0; ci < Cin; ci++) if (IsConnected(co, ci)) fanIn += KK;
            for (int ci = 0; ci < Cin; ci++)
                if (IsConnected(co, ci)) Initializers.Fill(p.Slice(_tableOffsets![co * Cin + ci], KK), fanIn, Cout * KK, Activation, rng);
        }
    }

    /// <summary>The kernels that run for a batch of n at the current vector width, chosen once per (n, width).</summary>
    public ConvolutionPlan PlanFor(int n) => _plans.GetOrAdd((n, Simd.Width), static (key, shape) => ConvolutionPlan.For(shape, key.N), _shape);

    // Scratch: [dense table weights | their gradient] | the pre-activation gradient and a vector past it | the kernel's own.
    int DzAt => 2 * DenseWeightCount;
    int KernelAt(int n) => DzAt + n * OutputShape.Size + 16;
    public override int ScratchLength(int n) => KernelAt(n) + ConvolutionPlan.ScratchBound(_shape, n);

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        bool relu = Activation == Activation.Relu;
        PlanFor(n).Forward.Forward(Weights(p, scratch), p.Slice(WeightCount, Cout), x, y, n, relu, scratch[KernelAt(n)..]);
        if (!relu) Activation.Apply(y[..(n * OutputShape.Size)]);
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        var plan = PlanFor(n);
        var kernel = dx.IsEmpty ? plan.WeightGradientOnly : plan.Backward;
        int size = n * OutputShape.Size;
        bool fused = Activation == Activation.Relu && kernel.TakesReluGradient;
        var dz = scratch.Slice(DzAt, size + 16);
        if (!fused) Activation.Backward(y[..size], dy[..size], dz[..size]);
        // The weight gradient: dense (a table's kept, then folded into the connected kernels) or the parameters' own.
        var dW = _table is null ? dp[..WeightCount] : scratch.Slice(DenseWeightCount, DenseWeightCount);
        if (_table is not null) dW.Clear();
        kernel.Backward(Weights(p, scratch), x, fused ? y : default, fused ? dy : dz, dx, dW, dp.Slice(WeightCount, Cout), n, scratch[KernelAt(n)..]);
        if (_table is null) return;
        for (int co = 0; co < Cout; co++)
            for (int ci = 0; ci < Cin; ci++)
                if (IsConnected(co, ci))
                {
                    var d = dp.Slice(_tableOffsets![co * Cin + ci], KK);
                    System.Numerics.Tensors.TensorPrimitives.Add(d, dW.Slice((co * Cin + ci) * KK, KK), d);
                }
    }

    /// <summary>Output map co's kernels times scale[co], its bias b·scale[co] + shift[co]: an affine map of the outputs folded in.</summary>
    internal void ScaleOutputs(Span<float> p, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift)
    {
        for (int co = 0; co < Cout; co++)
        {
            for (int ci = 0; ci < Cin; ci++)
                if (IsConnected(co, ci))
                {
                    var kernel = p.Slice(_table is null ? (co * Cin + ci) * KK : _tableOffsets![co * Cin + ci], KK);
                    System.Numerics.Tensors.TensorPrimitives.Multiply(kernel, scale[co], kernel);
                }
            p[WeightCount + co] = p[WeightCount + co] * scale[co] + shift[co];
        }
    }

    bool IsConnected(int co, int ci) => _table is null || _table[co, ci];

    /// <summary>Weights as a (Cout, Cin·k·k) matrix: the parameters themselves, or the table expanded with zeros (in scratch).</summary>
    ReadOnlySpan<float> Weights(ReadOnlySpan<float> p, Span<float> scratch)
    {
        if (_table is null) return p[..WeightCount];
        var dense = scratch[..DenseWeightCount];
        dense.Clear();
        for (int co = 0; co < Cout; co++)
            for (int ci = 0; ci < Cin; ci++)
                if (IsConnected(co, ci)) p.Slice(_tableOffsets![co * Cin + ci], KK).CopyTo(dense.Slice((co * Cin + ci) * KK, KK));
        return dense;
    }

    /// <summary>The kernel for output map co and input map ci, or empty when the table does not connect them.</summary>
    public ReadOnlySpan<float> Kernel(ReadOnlySpan<float> p, int co, int ci)
    {
        if (!IsConnected(co, ci)) return ReadOnlySpan<float>.Empty;
        return p.Slice(_table is null ? (co * Cin + ci) * KK : _tableOffsets![co * Cin + ci], KK);
    }
}
