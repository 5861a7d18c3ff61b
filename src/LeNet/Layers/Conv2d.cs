// 2-D convolution, stride 1, 'valid' or 'same' zero padding, as an implicit GEMM over chunks of the batch.
// An optional connection table (the 1998 paper's C3) restricts which input maps feed each output map;
// only connected kernels are parameters, expanded to a dense weight matrix with zeros for the GEMM.
// input (N, Cin, H, W) → output (N, Cout, OH, OW); parameters: kernels then biases (Cout).
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LeNet.Kernels;
using LeNet.Training;

namespace LeNet.Layers;

public enum Padding { Valid, Same }

public sealed class Conv2d : Layer
{
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

    // ---- Geometry of the implicit GEMM ----------------------------------------------------------------
    // The input of a chunk of cn samples is copied, zero-padded, into planes of G floats laid out
    // [ci][sample] (one padded Hp×Wp image per plane). An output unit (oy, ox) is then the dot product
    // of the weights with the floats at oy·Wp + ox + (ci·cn·G + ky·Wp + kx): every row of the unfolded
    // matrix is a shifted view of the padded input, so the GEMM reads the input itself through a table
    // of row offsets and no im2col is formed. The output is computed on a grid Wp wide (the columns
    // past OW are computed and dropped). The output gradient is laid on the same grid (zeros off the
    // valid units). The input gradient is the transpose: for each kernel offset (ky, kx), the Cin×Cout
    // slice of the weights times dz, added into the padded input-gradient planes shifted by ky·Wp + kx
    // (the col2im folded into the GEMM's accumulating stores). The weight gradient is one long dot
    // product per weight over the chunk, or (input rows)·dzᵀ with many maps.
    // A convolution whose kernel covers its input (output 1×1, no padding) is a dense layer and runs as one.
    // Two shapes have kernels of their own with 512-bit vectors: one input map (a first layer:
    // SingleMapConvolution, direct), and six unpadded input maps with eight samples or more (LeNet-5's
    // conv2, the paper's C3: SixMapConvolution, sixteen samples at a time, one per lane).

    bool IsDense => OutputShape.H == 1 && OutputShape.W == 1 && _pad == 0;
    // When the output maps fill whole 512-bit vectors (LeNet-5's second convolution: 16), the forward
    // pass runs position-major instead: output positions as the GEMM's rows, gathered from the padded
    // input through a table, times the transposed weights, one vector of 16 maps per weight. It skips
    // the grid's unused columns (40 of 140 for a 10×10 output on a 14-wide grid) and takes the bias and
    // relu in its registers; the result is transposed back to maps.
    bool PositionMajor => Cout % 16 == 0 && OutputShape.H * OutputShape.W >= 8 && Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated;
    // With 12 or more output maps the weight gradient goes as (input rows)·dzᵀ, one vector of dzᵀ
    // holding 16 maps (their count rounded up to 16 with zero columns), over each sample's grid alone:
    // the dot-product form would also run over the rows of the padded plane that have no output, and
    // reduce every vector accumulator. With fewer maps most lanes would be padding.
    bool TransposedWeightGradient => Cout >= 12;
    // One input map (a network's first layer) and output rows of 17 to 32: direct kernels, six maps
    // at a time, for the forward pass and the weight gradient (see SingleMapConvolution).
    bool SingleMap => Cin == 1 && _table is null && !IsDense && SingleMapConvolution.Covers(Cout, OutputShape.W);
    int CoutPadded => RoundUp(Cout);
    int Hp => InputShape.H + 2 * _pad;
    int Wp => InputShape.W + 2 * _pad;
    int G => RoundUp(Hp * Wp);                       // plane stride of the padded input, dz on its grid and the padded dx
    int Pf => RoundUp(OutputShape.H * Wp);           // output grid per sample
    int SlackX => Pf + _k * Wp + 16;                 // floats past the last plane that the grid reaches (garbage or zeros only)
    static int RoundUp(int v) => (v + 15) & ~15;

    // Samples per chunk: the padded input, dz on its grid and the padded dx of a chunk stay within about 512 KB.
    int Chunk(int n) => Math.Max(1, Math.Min(n, (1 << 17) / ((2 * Cin + Cout) * G)));

    // Scratch layout for a call with n samples (c = samples per chunk):
    // [expanded table weights | their gradient] (table only) | padded input (Cin·c·G + slack)
    // | dz on the input grid (Cout·c·G) | padded dx (Cin·c·G + slack) | GEMM output (grid) | transposed
    // weights (k·k × Cin × Cout) | dzᵀ of a chunk and dWᵀ (many maps) | six unpadded input maps: dz
    // laid sample-minor (or the forward pass's sums), x laid sample-minor (or the input gradient's
    // sums), the weight gradient's per-lane sums | pre-activation gradient (n×output).
    readonly record struct Layout(int TableW, int TableDW, int X, int DzGrid, int DxPad, int Out, int WT, int DzT, int DWT, int DzS, int DxS, int DWS, int Dz);

    Layout LayoutFor(int n)
    {
        int table = _table is null ? 0 : Cout * PatchSize;
        if (IsDense) return new Layout(0, table, 2 * table, 2 * table, 2 * table, 2 * table, 2 * table, 2 * table, 2 * table, 2 * table, 2 * table, 2 * table,
            2 * table + Math.Max(n * Cout, Dense.AffineScratch(n, PatchSize, Cout)));
        // Every region starts on a whole number of vectors, so with the buffer aligned (Simd.Aligned)
        // the GEMMs' 16-float rows (transposed weights, dzᵀ, products) lie each on one cache line.
        int c = Chunk(n);
        int x = RoundUp(2 * table), dzGrid = RoundUp(x + Cin * c * G + SlackX), dxPad = RoundUp(dzGrid + Cout * c * G), output = RoundUp(dxPad + Cin * c * G + SlackX);
        int wT = RoundUp(output + Cout * Pf), dzT = RoundUp(wT + Cin * Cout * _k * _k);
        int dwT = RoundUp(dzT + (TransposedWeightGradient ? c * OutputShape.H * Wp * CoutPadded : 0));
        int dzS = RoundUp(dwT + Math.Max(TransposedWeightGradient ? PatchSize * CoutPadded : 0, SingleMap ? PatchSize * Cout * 16 : 0));
        bool sixMaps = Cin == SixMapConvolution.Maps && _pad == 0;
        int dxS = RoundUp(dzS + (sixMaps ? SixMapConvolution.LaidLength(Cout, OutputShape.H, OutputShape.W) : 0));
        int dwS = RoundUp(dxS + (sixMaps ? SixMapConvolution.SumsLength(InputShape.H, InputShape.W) : 0));
        int dz = RoundUp(dwS + (sixMaps ? SixMapConvolution.LaneSumsLength(Cout, _k) : 0));
        return new Layout(0, table, x, dzGrid, dxPad, output, wT, dzT, dwT, dzS, dxS, dwS, dz);
    }

    // The pre-activation gradient (n × output, also a copy of dy without an activation) and a vector past it.
    public override int ScratchLength(int n) => LayoutFor(n).Dz + n * OutputShape.Size + 16 + Simd.AlignmentSlack;

    static ReadOnlySpan<float> CopyToScratch(ReadOnlySpan<float> values, Span<float> scratch)
    {
        values[..scratch.Length].CopyTo(scratch);
        return scratch;
    }

    /// <summary>Offsets of the rows of the implicit unfolded matrix: (c, ky, kx) → c·planes + (ky + skip)·width + kx + skip.</summary>
    static void RowTable(Span<int> rows, int channels, int k, int planes, int width, int skip)
    {
        int r = 0;
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) rows[r++] = c * planes + (ky + skip) * width + kx + skip;
    }

    /// <summary>Copies samples [s0, s0+cn) of x into zero-padded planes [ci][sample] of G floats.</summary>
    void PadInput(ReadOnlySpan<float> x, int s0, int cn, Span<float> padded)
    {
        int h = InputShape.H, w = InputShape.W, g = G, wp = Wp, inSize = InputShape.Size;
        padded[..(Cin * cn * g + SlackX)].Clear();
        for (int ci = 0; ci < Cin; ci++)
            for (int s = 0; s < cn; s++)
            {
                var src = x.Slice((s0 + s) * inSize + ci * h * w, h * w);
                ref float d = ref padded[(ci * cn + s) * g + _pad * wp + _pad];
                ref float v = ref Unsafe.AsRef(in src[0]);
                for (int y = 0; y < h; y++) Rows.CopyRow(ref Unsafe.Add(ref d, y * wp), ref Unsafe.Add(ref v, y * w), w);
            }
    }

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        var at = LayoutFor(n);
        var weights = DenseWeights(p, scratch.Slice(at.TableW, _table is null ? 0 : Cout * PatchSize));
        var bias = p.Slice(WeightCount, Cout);
        int outSize = OutputShape.Size, kk = PatchSize;
        if (IsDense)
        {
            Dense.AffineForward(weights, bias, x, y, n, kk, Cout, scratch[at.Out..at.Dz]);
            Activations.Apply(Activation, y[..(n * outSize)]);
        }
        else if (SixMapsForward(n)) ForwardSixMaps(weights, bias, x, y, n, scratch, at);
        else if (PositionMajor) ForwardPositionMajor(weights, bias, x, y, n, scratch, at);
        else if (SingleMap) ForwardSingleMap(weights, bias, x, y, n, scratch, at);
        else
        {
            int chunk = Chunk(n), g = G, pf = Pf, wp = Wp, oh = OutputShape.H, ow = OutputShape.W;
            bool relu = Activation == Activation.Relu;
            int[]? rented = kk > 1024 ? System.Buffers.ArrayPool<int>.Shared.Rent(kk) : null;
            Span<int> rows = rented is null ? stackalloc int[kk] : rented.AsSpan(0, kk);
            var padded = scratch.Slice(at.X, at.DzGrid - at.X);
            var output = scratch.Slice(at.Out, Cout * pf);
            for (int s0 = 0; s0 < n; s0 += chunk)
            {
                int cn = Math.Min(chunk, n - s0);
                PadInput(x, s0, cn, padded);
                RowTable(rows, Cin, _k, cn * g, wp, 0);
                for (int s = 0; s < cn; s++)
                {
                    Gemm.MultiplyNNRows(Cout, pf, kk, weights, kk, padded[(s * g)..], rows, output, pf, accumulate: false);
                    // Bias and activation while the sample is in cache; relu goes with the bias.
                    var ys = y.Slice((s0 + s) * outSize, outSize);
                    ref float o = ref output[0];
                    ref float Y = ref ys[0];
                    for (int co = 0; co < Cout; co++)
                        for (int oy = 0; oy < oh; oy++)
                            Rows.BiasRow(ref Unsafe.Add(ref Y, (co * oh + oy) * ow), ref Unsafe.Add(ref o, co * pf + oy * wp), bias[co], ow, relu);
                    if (!relu) Activations.Apply(Activation, ys);
                }
            }
            if (rented is not null) System.Buffers.ArrayPool<int>.Shared.Return(rented);
        }
    }

    void ForwardPositionMajor(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch, Layout at)
    {
        int chunk = Chunk(n), g = G, wp = Wp, oh = OutputShape.H, ow = OutputShape.W, positions = oh * ow, outSize = OutputShape.Size, kk = PatchSize;
        bool relu = Activation == Activation.Relu;
        int tableLength = kk + chunk * positions;
        int[]? rented = tableLength > 4096 ? System.Buffers.ArrayPool<int>.Shared.Rent(tableLength) : null;
        Span<int> tables = rented is null ? stackalloc int[tableLength] : rented.AsSpan(0, tableLength);
        Span<int> cols = tables[..kk], rows = tables[kk..];
        var padded = scratch.Slice(at.X, at.DzGrid - at.X);
        var product = scratch.Slice(at.DzGrid, chunk * positions * Cout);   // (position, map), free until the backward pass
        var wT = scratch.Slice(at.WT, kk * Cout);
        Gemm.Transpose(Cout, kk, weights, kk, wT);
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            RowTable(cols, Cin, _k, cn * g, wp, 0);
            for (int s = 0, r = 0; s < cn; s++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) rows[r++] = s * g + oy * wp + ox;
            Gemm.MultiplyGathered(cn * positions, Cout, kk, padded, rows, cols, wT, Cout, bias, relu, product, Cout);
            for (int s = 0; s < cn; s++)
                Gemm.Transpose(positions, Cout, product[(s * positions * Cout)..], Cout, y.Slice((s0 + s) * outSize, outSize));
        }
        if (!relu) Activations.Apply(Activation, y[..(n * outSize)]);
        if (rented is not null) System.Buffers.ArrayPool<int>.Shared.Return(rented);
    }

    // Six unpadded input maps, output maps in eights, and at least eight samples: sixteen samples at a
    // time, one per lane (SixMapConvolution); fewer go position-major.
    bool SixMapsForward(int n) => n >= SixMapConvolution.Lanes / 2 && _pad == 0 && Cout % 8 == 0 && SixMapConvolution.Covers(Cin);

    void ForwardSixMaps(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch, Layout at)
    {
        int outSize = OutputShape.Size, inSize = InputShape.Size;
        bool relu = Activation == Activation.Relu;
        var laid = scratch.Slice(at.DxS, at.DWS - at.DxS);
        var sums = scratch.Slice(at.DzS, at.DxS - at.DzS);
        for (int s0 = 0; s0 < n; s0 += SixMapConvolution.Lanes)
        {
            int count = Math.Min(SixMapConvolution.Lanes, n - s0);
            SixMapConvolution.LayInput(x[(s0 * inSize)..], count, inSize, InputShape.H * InputShape.W, laid);
            SixMapConvolution.Forward(laid, weights, bias, relu, Cout, _k, OutputShape.H, OutputShape.W, sums);
            Gemm.Transpose(outSize, count, sums, SixMapConvolution.Lanes, y[(s0 * outSize)..], outSize);
        }
        if (!relu) Activations.Apply(Activation, y[..(n * outSize)]);
    }

    void ForwardSingleMap(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch, Layout at)
    {
        int chunk = Chunk(n), g = G, outSize = OutputShape.Size, kk = PatchSize, map = OutputShape.H * OutputShape.W;
        bool relu = Activation == Activation.Relu;
        var padded = scratch.Slice(at.X, at.DzGrid - at.X);
        ref float w = ref Unsafe.AsRef(in weights[0]);
        ref float b = ref Unsafe.AsRef(in bias[0]);
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            for (int s = 0; s < cn; s++)
            {
                var ys = y.Slice((s0 + s) * outSize, outSize);
                for (int co = 0; co < Cout; co += SingleMapConvolution.Maps)
                    SingleMapConvolution.Forward6(ref padded[s * g], Wp, _k, OutputShape.H, OutputShape.W, ref Unsafe.Add(ref w, co * kk),
                        ref Unsafe.Add(ref b, co), relu, ref ys[co * map]);
                if (!relu) Activations.Apply(Activation, ys);
            }
        }
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        scratch = Simd.Aligned(scratch);
        var at = LayoutFor(n);
        int kk = PatchSize, outSize = OutputShape.Size, inSize = InputShape.Size;
        // A first layer's weight gradient takes the activation's gradient a sample at a time, in L1.
        bool singleMapWeights = SingleMap && dx.IsEmpty;
        // Six input maps sixteen samples at a time take relu's gradient as they lay dz out.
        bool sixMaps = !IsDense && !singleMapWeights && SixMapsBackward(n, !dx.IsEmpty);
        bool reluOnTheWay = sixMaps && Activation == Activation.Relu && OutputShape.W >= 8;
        var dz = singleMapWeights || reluOnTheWay ? dy : PreActivationGradient(y, dy, n, scratch[at.Dz..]);
        var weights = DenseWeights(p, scratch.Slice(at.TableW, _table is null ? 0 : Cout * kk));
        // With a table the weight gradient is formed densely, then only connected kernels are kept.
        var dW = _table is null ? dp[..WeightCount] : scratch.Slice(at.TableDW, Cout * kk);
        if (_table is not null) dW.Clear();
        var db = dp.Slice(WeightCount, Cout);
        if (IsDense) Dense.AffineBackward(weights, x, dz, dx, dW, db, n, kk, Cout, scratch.Slice(at.Out, Cout * n));
        else if (singleMapWeights) WeightGradientSingleMap(x, y, dy, dW, db, n, scratch, at);
        else if (sixMaps) BackwardSixMaps(weights, x, reluOnTheWay ? y : default, dz, dx, dW, db, n, scratch, at);
        else
        {
            int chunk = Chunk(n), g = G, wp = Wp, pf = Pf, oh = OutputShape.H, ow = OutputShape.W, h = InputShape.H, w = InputShape.W, map = oh * ow;
            int kk2 = _k * _k, cinCout = Cin * Cout;
            // dz in the scratch, where the grid's row copies may read up to a vector past its end.
            if (Activation == Activation.None) dz = CopyToScratch(dz, scratch.Slice(at.Dz, n * outSize));
            int[]? rented = kk + Cout > 1024 ? System.Buffers.ArrayPool<int>.Shared.Rent(kk + Cout) : null;
            Span<int> all = rented is null ? stackalloc int[kk + Cout] : rented.AsSpan(0, kk + Cout);
            Span<int> rows = all[..kk], dzRows = all[kk..];
            // With 512-bit vectors the weight gradient takes the chunk's grid positions through a table.
            bool gathered = TransposedWeightGradient && Simd.Width == SimdWidth.V512 && Vector512.IsHardwareAccelerated;
            int positionCount = gathered ? chunk * oh * wp : 0;
            int[]? rentedPositions = positionCount > 4096 ? System.Buffers.ArrayPool<int>.Shared.Rent(positionCount) : null;
            Span<int> positions = rentedPositions is null ? stackalloc int[positionCount] : rentedPositions.AsSpan(0, positionCount);
            var padded = scratch.Slice(at.X, at.DzGrid - at.X);
            var dzGrid = scratch.Slice(at.DzGrid, at.DxPad - at.DzGrid);
            var dxPad = scratch.Slice(at.DxPad, at.Out - at.DxPad);
            bool needDx = !dx.IsEmpty, needGrid = needDx || !gathered;
            var wT = scratch.Slice(at.WT, kk2 * cinCout);
            var dzT = scratch.Slice(at.DzT, at.DWT - at.DzT);
            var dWT = scratch.Slice(at.DWT, at.DzS - at.DWT);
            dWT.Clear();
            if (CoutPadded != Cout) dzT.Clear();   // the padding columns stay zero
            int ldT = CoutPadded;
            if (needDx) OffsetMajorWeights(weights, wT);
            for (int s0 = 0; s0 < n; s0 += chunk)
            {
                int cn = Math.Min(chunk, n - s0), len = cn * g;
                PadInput(x, s0, cn, padded);
                RowTable(rows, Cin, _k, len, wp, 0);
                // dz on the input's grid (zeros off the valid units), for the GEMM forms and the input
                // gradient, and the bias gradient: the sums of dz's planes.
                for (int co = 0; co < Cout; co++)
                    for (int s = 0; s < cn; s++)
                        db[co] += needGrid
                            ? Rows.ToGrid(ref dzGrid[(co * cn + s) * g], ref Unsafe.AsRef(in dz[(s0 + s) * outSize + co * map]), oh, ow, wp, g)
                            : TensorPrimitives.Sum(dz.Slice((s0 + s) * outSize + co * map, map));
                if (TransposedWeightGradient && gathered)
                {
                    // The whole chunk in one product over its samples' output positions (not the grid's
                    // unused columns), so the accumulators stay in registers from the first sample to the last.
                    // dzᵀ comes from the compact dz, a sample (maps × positions) at a time.
                    int r = 0;
                    for (int s = 0; s < cn; s++)
                    {
                        Gemm.Transpose(Cout, map, dz[((s0 + s) * outSize)..], map, dzT[(s * map * ldT)..], ldT);
                        for (int oy = 0; oy < oh; oy++, r += ow)
                            for (int ox = 0; ox < ow; ox++) positions[r + ox] = s * g + oy * wp + ox;
                    }
                    Gemm.MultiplyGathered(kk, ldT, r, padded, rows, positions, dzT, ldT, default, false, dWT, ldT, accumulate: true);
                }
                else if (TransposedWeightGradient)
                    for (int s = 0; s < cn; s++)
                    {
                        Gemm.Transpose(Cout, oh * wp, dzGrid[(s * g)..], len, dzT, ldT);
                        Gemm.MultiplyRowsNN(kk, ldT, oh * wp, padded[(s * g)..], rows, dzT, ldT, dWT, ldT, accumulate: true);
                    }
                else Gemm.MultiplyNTRows(Cout, kk, len, dzGrid, len, padded, rows, dW, kk, accumulate: true);
                if (!needDx) continue;

                // dx: for each kernel offset, wT·dz over the sample's grid, added into the padded dx planes
                // shifted by that offset. A block of the GEMM's rows is a set of input maps (distinct
                // planes), so no two rows of one block overlap; blocks store in order.
                dxPad[..(Cin * len + SlackX)].Clear();
                for (int co = 0; co < Cout; co++) dzRows[co] = co * len;
                for (int s = 0; s < cn; s++)
                {
                    for (int o = 0; o < kk2; o++)
                        Gemm.MultiplyNNRows(Cin, pf, Cout, wT[(o * cinCout)..], Cout, dzGrid[(s * g)..], dzRows,
                            dxPad[(s * g + o / _k * wp + o % _k)..], len, accumulate: true);
                    ref float d = ref dx[(s0 + s) * inSize];
                    for (int ci = 0; ci < Cin; ci++)
                    {
                        ref float src = ref dxPad[(ci * cn + s) * g + _pad * wp + _pad];
                        for (int yy = 0; yy < h; yy++) Rows.CopyRow(ref Unsafe.Add(ref d, (ci * h + yy) * w), ref Unsafe.Add(ref src, yy * wp), w);
                    }
                }
            }
            if (rented is not null) System.Buffers.ArrayPool<int>.Shared.Return(rented);
            if (rentedPositions is not null) System.Buffers.ArrayPool<int>.Shared.Return(rentedPositions);
            if (TransposedWeightGradient)
                for (int r = 0; r < kk; r++)
                    for (int co = 0; co < Cout; co++) dW[co * kk + r] += dWT[r * CoutPadded + co];
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

    /// <summary>wT[(ky, kx), ci, co] = w[co, ci, ky, kx]: for each kernel offset, the Cin×Cout matrix that takes dz to dx.</summary>
    void OffsetMajorWeights(ReadOnlySpan<float> weights, Span<float> wT)
    {
        int kk = PatchSize, kk2 = _k * _k, cinCout = Cin * Cout;
        // For each input map, the Cout × k² block of its kernels, transposed.
        for (int ci = 0; ci < Cin; ci++)
            Gemm.Transpose(Cout, kk2, weights[(ci * kk2)..], kk, wT[(ci * Cout)..], cinCout);
    }

    // Whether the backward pass goes sixteen samples at a time (below): six unpadded input maps, the
    // input gradient wanted, and enough samples to fill half the lanes (a few samples alone, as in a
    // short last micro-batch, would pay for sixteen).
    bool SixMapsBackward(int n, bool needDx) => needDx && n >= SixMapConvolution.Lanes / 2 && _pad == 0 && Cout % 4 == 0 && SixMapConvolution.Covers(Cin);

    // Six unpadded input maps with 512-bit vectors (LeNet-5's conv2, the paper's C3): both gradients
    // sixteen samples at a time, one sample per lane, from dz and x laid sample-minor (SixMapConvolution),
    // with no padded input, no dz grid and no transposed dz.
    // With y given, dz is dy and relu's gradient is taken on the way.
    void BackwardSixMaps(ReadOnlySpan<float> weights, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dz, Span<float> dx, Span<float> dW, Span<float> db,
        int n, Span<float> scratch, Layout at)
    {
        int oh = OutputShape.H, ow = OutputShape.W, map = oh * ow, outSize = OutputShape.Size, inSize = InputShape.Size;
        var wT = scratch.Slice(at.WT, _k * _k * Cin * Cout);
        OffsetMajorWeights(weights, wT);
        var dzS = scratch.Slice(at.DzS, at.DxS - at.DzS);
        // x laid sample-minor for the weight gradient, then the input gradient's sums, in one region.
        var laid = scratch.Slice(at.DxS, at.DWS - at.DxS);
        var laneSums = scratch.Slice(at.DWS, at.Dz - at.DWS);
        for (int s0 = 0; s0 < n; s0 += SixMapConvolution.Lanes)
        {
            int count = Math.Min(SixMapConvolution.Lanes, n - s0);
            if (!y.IsEmpty) SixMapConvolution.LayReluGradient(y[(s0 * outSize)..], dz[(s0 * outSize)..], count, outSize, Cout, oh, ow, dzS, db);
            else
            {
                for (int co = 0; co < Cout; co++)
                    for (int s = 0; s < count; s++) db[co] += TensorPrimitives.Sum(dz.Slice((s0 + s) * outSize + co * map, map));
                SixMapConvolution.Lay(dz[(s0 * outSize)..], count, outSize, Cout, oh, ow, dzS);
            }
            SixMapConvolution.LayInput(x[(s0 * inSize)..], count, inSize, InputShape.H * InputShape.W, laid);
            SixMapConvolution.WeightGradient(dzS, laid, Cout, _k, oh, ow, laneSums, first: s0 == 0);
            SixMapConvolution.Compute(dzS, wT, Cout, _k, oh, ow, laid);
            Gemm.Transpose(inSize, count, laid, SixMapConvolution.Lanes, dx[(s0 * inSize)..], inSize);
        }
        SixMapConvolution.AddLaneSums(laneSums, dW, Cout * PatchSize);
    }

    // The weight gradient of a single-map layer (no input gradient: a first layer) straight from the
    // output gradient in its own layout: no grid to clear and fill. Sample by sample, so the sample's
    // pre-activation gradient (taken into a buffer of one sample), its padded input and the
    // accumulators stay in L1 while every tap and map goes over them. Vector partial sums per
    // (tap, map), summed at the end.
    void WeightGradientSingleMap(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dW, Span<float> db, int n, Span<float> scratch, Layout at)
    {
        int outSize = OutputShape.Size, oh = OutputShape.H, ow = OutputShape.W, map = oh * ow, kk = PatchSize, chunk = Chunk(n), g = G;
        var padded = scratch.Slice(at.X, at.DzGrid - at.X);
        var acc = scratch.Slice(at.DWT, kk * Cout * 16);
        var dz = scratch.Slice(at.Dz, outSize);
        acc.Clear();
        for (int s0 = 0; s0 < n; s0 += chunk)
        {
            int cn = Math.Min(chunk, n - s0);
            PadInput(x, s0, cn, padded);
            for (int s = 0; s < cn; s++)
            {
                int at0 = (s0 + s) * outSize;
                if (Activation == Activation.Relu && map % 16 == 0 && Simd.Width == SimdWidth.V512)
                    ReluGradientAndSums(y.Slice(at0, outSize), dy.Slice(at0, outSize), dz, map, db);
                else
                {
                    Activations.Backward(Activation, y.Slice(at0, outSize), dy.Slice(at0, outSize), dz);
                    for (int co = 0; co < Cout; co++) db[co] += TensorPrimitives.Sum(dz.Slice(co * map, map));
                }
                if (_k == 5)
                    SingleMapConvolution.WeightGradient5x5(ref padded[s * g], g, 1, Wp, oh, ow, ref dz[0], ow, outSize, map, ref acc[0], Cout);
                else
                    for (int co = 0; co < Cout; co += SingleMapConvolution.Maps)
                        SingleMapConvolution.WeightGradient6(ref padded[s * g], Wp, _k, oh, ow, ref dz[co * map], ow, map, ref acc[co * 16], Cout);
            }
        }
        for (int r = 0; r < kk; r++)
            for (int co = 0; co < Cout; co++) dW[co * kk + r] += Vector512.Sum(Vector512.Create<float>(acc.Slice((r * Cout + co) * 16, 16)));
    }

    // dz = y > 0 ? dy : 0 for one sample, and db[co] += the sum of map co, in one pass (maps of whole vectors).
    void ReluGradientAndSums(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz, int map, Span<float> db)
    {
        ref float Y = ref Unsafe.AsRef(in y[0]);
        ref float DY = ref Unsafe.AsRef(in dy[0]);
        ref float D = ref dz[0];
        if (y.Length < Cout * map || dy.Length < Cout * map || dz.Length < Cout * map) throw new ArgumentException("Buffers too short.");
        for (int co = 0; co < Cout; co++)
        {
            var sum = Vector512<float>.Zero;
            for (nuint i = (nuint)(co * map), end = i + (nuint)map; i < end; i += 16)
            {
                var v = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref Y, i), Vector512<float>.Zero), Vector512.LoadUnsafe(ref DY, i), Vector512<float>.Zero);
                v.StoreUnsafe(ref D, i);
                sum += v;
            }
            db[co] += Vector512.Sum(sum);
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
