// 2-D convolution, stride 1, 'valid' or 'same' zero padding, as im2col + GEMM over chunks of the batch.
// An optional connection table (the 1998 paper's C3) restricts which input maps feed each output map;
// only connected kernels are parameters, expanded to a dense weight matrix with zeros for the GEMM.
// input (N, Cin, H, W) → output (N, Cout, OH, OW); parameters: kernels then biases (Cout).
using System.Numerics.Tensors;
using LeNet.Kernels;
using LeNet.Training;

namespace LeNet.Layers;

public enum Padding { Valid, Same }

public sealed class Conv2d : Layer
{
    // Columns per GEMM: enough samples per chunk to keep the GEMM wide, few enough to stay in L2.
    const int TargetColumns = 1024;

    readonly int _k, _pad, _kernelCount;
    readonly bool[,]? _table;          // [cout, cin]: true where input map cin feeds output map cout
    readonly int[]? _tableOffsets;     // [cout*cin] → offset of that kernel in the parameters, or -1

    public Conv2d(string name, Shape input, int outChannels, int kernel, Padding padding, Activation activation,
        bool[,]? connectionTable = null)
        : base(name, input, OutputOf(input, outChannels, kernel, padding), activation)
    {
        _k = kernel;
        Padding = padding;
        _pad = padding == Padding.Same ? (kernel - 1) / 2 : 0;
        _table = connectionTable;
        if (connectionTable is not null)
        {
            if (connectionTable.GetLength(0) != outChannels || connectionTable.GetLength(1) != input.C)
                throw new ArgumentException($"Connection table of {name} must be {outChannels}x{input.C}.");
            _tableOffsets = new int[outChannels * input.C];
            int next = 0;
            for (int co = 0; co < outChannels; co++)
                for (int ci = 0; ci < input.C; ci++)
                    _tableOffsets[co * input.C + ci] = connectionTable[co, ci] ? (next++) * kernel * kernel : -1;
            _kernelCount = next;
        }
        else _kernelCount = outChannels * input.C;
    }

    static Shape OutputOf(Shape input, int outChannels, int kernel, Padding padding) => padding == Padding.Same
        ? new Shape(outChannels, input.H, input.W)
        : new Shape(outChannels, input.H - kernel + 1, input.W - kernel + 1);

    public override string Kind => "Conv2d";
    public Padding Padding { get; }
    public int KernelSize => _k;
    public bool[,]? ConnectionTable => _table;
    int Cin => InputShape.C;
    int Cout => OutputShape.C;
    int PatchSize => Cin * _k * _k;                 // K of the GEMM
    int WeightCount => _kernelCount * _k * _k;

    public override int ParameterCount => WeightCount + Cout;

    public override long Connections
    {
        get
        {
            // Per output unit: one weight per connected input pixel plus the bias.
            long perUnit = (long)(_kernelCount / Cout) * _k * _k + 1;
            if (_table is null) return (long)OutputShape.Size * perUnit;
            return (long)OutputShape.H * OutputShape.W * (WeightCount + Cout);
        }
    }

    public override string Details => $"{_k}x{_k}{(Padding == Padding.Same ? " same" : "")}"
        + (_table is null ? "" : $", table") + (Activation == Activation.None ? "" : ", " + ActivationName);

    /// <summary>Fan-in of one output unit, for initialisation.</summary>
    public int FanIn => _kernelCount / Cout * _k * _k;

    public override void InitializeParameters(Span<float> p, Rng rng)
    {
        if (_table is null) { Initializers.Fill(p[..WeightCount], FanIn, Cout * _k * _k, Activation, rng); return; }
        // With a table each output map has its own fan-in: the maps it reads times k².
        int kk2 = _k * _k;
        for (int co = 0; co < Cout; co++)
        {
            int fanIn = 0;
            for (int ci = 0; ci < Cin; ci++) if (_table[co, ci]) fanIn += kk2;
            for (int ci = 0; ci < Cin; ci++)
            {
                int o = _tableOffsets![co * Cin + ci];
                if (o >= 0) Initializers.Fill(p.Slice(o, kk2), fanIn, Cout * kk2, Activation, rng);
            }
        }
    }

    int Chunk(int n) => Math.Max(1, Math.Min(n, TargetColumns / (OutputShape.H * OutputShape.W)));

    // Scratch layout for a call with n samples (l = columns of the largest chunk):
    // [expanded table weights | their gradient] (table only) | col (K×l) | dcol (K×l) | gather (Cout×l)
    // | transposed weights (K×Cout) | pre-activation gradient (n×output).
    readonly record struct Layout(int TableW, int TableDW, int Col, int DCol, int Gather, int WT, int Dz, int L);

    Layout LayoutFor(int n)
    {
        int l = Chunk(n) * OutputShape.H * OutputShape.W, kk = PatchSize, table = _table is null ? 0 : Cout * kk;
        int col = 2 * table, dcol = col + kk * l, gather = dcol + kk * l, wt = gather + Cout * l, dz = wt + kk * Cout;
        return new Layout(0, table, col, dcol, gather, wt, dz, l);
    }

    public override int ScratchLength(int n) => LayoutFor(n).Dz + base.ScratchLength(n);

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        var at = LayoutFor(n);
        int hw = OutputShape.H * OutputShape.W, kk = PatchSize, chunk = Chunk(n);
        var col = scratch.Slice(at.Col, kk * at.L);
        var outG = scratch.Slice(at.Gather, Cout * at.L);
        var weights = DenseWeights(p, scratch.Slice(at.TableW, _table is null ? 0 : Cout * kk));
        var bias = p.Slice(WeightCount, Cout);
        int inSize = InputShape.Size, outSize = OutputShape.Size;
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0), l = cn * hw;
            Im2Col.Unfold(x.Slice(s0 * inSize, cn * inSize), cn, Cin, InputShape.H, InputShape.W, _k, _k, _pad,
                OutputShape.H, OutputShape.W, col);
            Gemm.MultiplyNN(Cout, l, kk, weights, kk, col, l, outG, l, accumulate: false);
            for (int co = 0; co < Cout; co++)
                for (int s = 0; s < cn; s++)
                    TensorPrimitives.Add(outG.Slice(co * l + s * hw, hw), bias[co], y.Slice((s0 + s) * outSize + co * hw, hw));
        }
        Activations.Apply(Activation, y[..(n * outSize)]);
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        var at = LayoutFor(n);
        int hw = OutputShape.H * OutputShape.W, kk = PatchSize, chunk = Chunk(n);
        int inSize = InputShape.Size, outSize = OutputShape.Size;
        var col = scratch.Slice(at.Col, kk * at.L);
        var dCol = scratch.Slice(at.DCol, kk * at.L);
        var dzG = scratch.Slice(at.Gather, Cout * at.L);
        var wT = scratch.Slice(at.WT, kk * Cout);
        var dz = PreActivationGradient(y, dy, n, scratch[at.Dz..]);

        var weights = DenseWeights(p, scratch.Slice(at.TableW, _table is null ? 0 : Cout * kk));
        // With a table the weight gradient is formed densely, then only connected kernels are kept.
        var dW = _table is null ? dp[..WeightCount] : scratch.Slice(at.TableDW, Cout * kk);
        if (_table is not null) dW.Clear();
        var db = dp.Slice(WeightCount, Cout);
        bool needDx = !dx.IsEmpty;
        if (needDx) Gemm.Transpose(Cout, kk, weights, kk, wT);

        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0), l = cn * hw;
            for (int co = 0; co < Cout; co++)
            {
                var row = dzG.Slice(co * l, l);
                for (int s = 0; s < cn; s++) dz.Slice((s0 + s) * outSize + co * hw, hw).CopyTo(row.Slice(s * hw, hw));
                db[co] += TensorPrimitives.Sum(row);
            }
            Im2Col.Unfold(x.Slice(s0 * inSize, cn * inSize), cn, Cin, InputShape.H, InputShape.W, _k, _k, _pad,
                OutputShape.H, OutputShape.W, col);
            Gemm.MultiplyNT(Cout, kk, l, dzG, l, col, l, dW, kk, accumulate: true);
            if (needDx)
            {
                Gemm.MultiplyNN(kk, l, Cout, wT, Cout, dzG, l, dCol, l, accumulate: false);
                var dxc = dx.Slice(s0 * inSize, cn * inSize);
                dxc.Clear();
                Im2Col.Fold(dCol, cn, Cin, InputShape.H, InputShape.W, _k, _k, _pad, OutputShape.H, OutputShape.W, dxc);
            }
        }

        if (_table is not null)
        {
            int kk2 = _k * _k;
            for (int co = 0; co < Cout; co++)
                for (int ci = 0; ci < Cin; ci++)
                {
                    int o = _tableOffsets![co * Cin + ci];
                    if (o < 0) continue;
                    var d = dp.Slice(o, kk2);
                    TensorPrimitives.Add(d, dW.Slice(co * kk + ci * kk2, kk2), d);
                }
        }
    }

    /// <summary>Weights as a (Cout, Cin·k·k) matrix: the parameters themselves, or the table expanded with zeros.</summary>
    ReadOnlySpan<float> DenseWeights(ReadOnlySpan<float> p, Span<float> dense)
    {
        if (_table is null) return p[..WeightCount];
        int kk = PatchSize, kk2 = _k * _k;
        dense.Clear();
        for (int co = 0; co < Cout; co++)
            for (int ci = 0; ci < Cin; ci++)
            {
                int o = _tableOffsets![co * Cin + ci];
                if (o >= 0) p.Slice(o, kk2).CopyTo(dense.Slice(co * kk + ci * kk2, kk2));
            }
        return dense;
    }

    /// <summary>The kernel for output map co and input map ci, or empty when the table does not connect them.</summary>
    public ReadOnlySpan<float> Kernel(ReadOnlySpan<float> p, int co, int ci)
    {
        int kk2 = _k * _k;
        int o = _table is null ? (co * Cin + ci) * kk2 : _tableOffsets![co * Cin + ci];
        return o < 0 ? ReadOnlySpan<float>.Empty : p.Slice(o, kk2);
    }
}
