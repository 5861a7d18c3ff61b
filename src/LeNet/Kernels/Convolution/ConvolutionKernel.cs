// A convolution kernel: one way to compute a convolution's forward pass, its backward pass, or both,
// for one shape. ConvolutionPlan.For holds the rules that pick the kernels for a shape, a batch size
// and the vector width in use; a layer asks for its plan and never chooses a path itself.
using System.Runtime.CompilerServices;

namespace LeNet.Kernels;

public abstract class ConvolutionKernel
{
    protected ConvolutionKernel(ConvolutionShape shape)
    {
        Shape = shape;
        Hp = shape.Height + 2 * shape.Pad;
        Wp = shape.Width + 2 * shape.Pad;
        G = RoundUp(Hp * Wp);
        Pf = RoundUp(shape.OutHeight * Wp);
    }

    public ConvolutionShape Shape { get; }
    protected ConvolutionShape S => Shape;

    /// <summary>Short name for summaries and tests.</summary>
    public abstract string Name { get; }

    /// <summary>Floats of scratch a call with n samples needs (including the slack to align it).</summary>
    public abstract int ScratchLength(int n);

    /// <summary>y = w∗x + b for n samples, then max(y, 0) when relu is set.</summary>
    public virtual void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch) =>
        throw new NotSupportedException($"{Name} has no forward pass.");

    /// <summary>Whether <see cref="Backward"/> can take relu's gradient itself from y and dy.</summary>
    public virtual bool TakesReluGradient => false;

    /// <summary>
    /// Adds the weight and bias gradients to dW and db and, when dx is not empty, writes dx. gradient
    /// is dz = ∂L/∂z, the pre-activation gradient; or, when reluOutput is not empty (only if
    /// <see cref="TakesReluGradient"/>), dy, with dz = y &gt; 0 ? dy : 0 taken by the kernel.
    /// The gradient must be readable for 16 floats past n samples.
    /// </summary>
    public virtual void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> gradient,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch) =>
        throw new NotSupportedException($"{Name} has no backward pass.");

    protected static int RoundUp(int v) => (v + 15) & ~15;

    // ---- The zero-padded input that several kernels read ----------------------------------------------
    // A chunk of the batch is copied into planes of G floats laid out [ci][sample], each a padded
    // Hp×Wp image; outputs are then computed on a grid Wp wide (columns past OutWidth dropped).
    // Fields, not computed properties: once the JIT has spent its inlining budget on a tile's vector
    // operations, a property read there stays a call.
    protected readonly int Hp, Wp, G;
    /// <summary>The output grid of one sample: OutHeight rows of Wp.</summary>
    protected readonly int Pf;
    /// <summary>Floats past the last plane that the grid can reach (garbage or zeros only).</summary>
    protected int SlackX => Pf + S.K * Wp + 16;

    /// <summary>The padded input, the output gradient on its grid and the padded input gradient of a chunk stay within this many bytes (a share of L2).</summary>
    const int ChunkBytes = 512 * 1024;

    /// <summary>Samples per chunk.</summary>
    protected int Chunk(int n) => Math.Max(1, Math.Min(n, ChunkBytes / sizeof(float) / ((2 * S.InMaps + S.OutMaps) * G)));

    /// <summary>Copies samples [s0, s0+cn) of x into zero-padded planes [ci][sample] of G floats.</summary>
    protected void PadInput(ReadOnlySpan<float> x, int s0, int cn, Span<float> padded)
    {
        int h = S.Height, w = S.Width, g = G, wp = Wp, inSize = S.InputSize, pad = S.Pad;
        padded[..(S.InMaps * cn * g + SlackX)].Clear();
        for (int ci = 0; ci < S.InMaps; ci++)
            for (int s = 0; s < cn; s++)
            {
                var src = x.Slice((s0 + s) * inSize + ci * h * w, h * w);
                ref float d = ref padded[(ci * cn + s) * g + pad * wp + pad];
                ref float v = ref Unsafe.AsRef(in src[0]);
                for (int y = 0; y < h; y++) Rows.CopyRow(ref Unsafe.Add(ref d, y * wp), ref Unsafe.Add(ref v, y * w), w);
            }
    }

    /// <summary>Offsets of the rows of the implicit unfolded matrix: (c, ky, kx) → c·planes + (ky + skip)·width + kx + skip.</summary>
    protected static void RowTable(Span<int> rows, int channels, int k, int planes, int width, int skip)
    {
        int r = 0;
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) rows[r++] = c * planes + (ky + skip) * width + kx + skip;
    }

    /// <summary>wT[(ky, kx), ci, co] = w[co, ci, ky, kx]: for each kernel offset, the InMaps×OutMaps matrix that takes dz to dx.</summary>
    protected void OffsetMajorWeights(ReadOnlySpan<float> weights, Span<float> wT)
    {
        int kk = S.PatchSize, kk2 = S.K * S.K, cinCout = S.InMaps * S.OutMaps;
        for (int ci = 0; ci < S.InMaps; ci++)
            Gemm.Transpose(S.OutMaps, kk2, weights[(ci * kk2)..], kk, wT[(ci * S.OutMaps)..], cinCout);
    }
}

/// <summary>The plain definition as a kernel: what the fast kernels are tested against.</summary>
public sealed class ReferenceConvolution(ConvolutionShape shape) : ConvolutionKernel(shape)
{
    public override string Name => "reference";
    public override int ScratchLength(int n) => 0;
    public override void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu, Span<float> scratch) =>
        ConvolutionReference.Forward(S, w, b, x, y, n, relu);
    public override void Backward(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput, ReadOnlySpan<float> gradient,
        Span<float> dx, Span<float> dW, Span<float> db, int n, Span<float> scratch) =>
        ConvolutionReference.Backward(S, w, x, gradient, dx, dW, db, n);
}

/// <summary>The kernels one convolution runs for a batch size at a vector width.</summary>
public sealed record ConvolutionPlan(ConvolutionKernel Forward, ConvolutionKernel Backward, ConvolutionKernel WeightGradientOnly)
{
    /// <summary>
    /// The rules, in one place:
    /// - a kernel that covers its input (1×1 output, no padding) is a dense layer;
    /// - six input maps without padding, at least eight samples, 512-bit vectors: sixteen samples at
    ///   a time, one per lane (forward when the output maps come in eights, backward with the input
    ///   gradient when they come in fours);
    /// - output maps in sixteens, 512-bit vectors: the forward pass position-major;
    /// - one input map, output maps in sixes and output rows of 17 to 32, 512-bit vectors: direct
    ///   row kernels for the forward pass and for the weight gradient of a first layer;
    /// - at 256 and 128 bits, one input map and 5×5 kernels: vectors along output rows for the forward
    ///   pass and the weight gradient of a first layer (RowConvolution);
    /// - at 256 and 128 bits, output maps in fours and at least half a vector of samples: one sample
    ///   per lane (LaneConvolution); with fewer samples, a forward pass whose maps fill two vectors
    ///   runs position-major;
    /// - everything else: the implicit GEMM.
    /// </summary>
    public static ConvolutionPlan For(ConvolutionShape shape, int n)
    {
        if (shape.IsDense) { var dense = new DenseConvolution(shape); return new(dense, dense, dense); }
        if (!Simd.Allows(SimdWidth.V512))
        {
            var lanes = Narrow(shape, n);
            ConvolutionKernel general = lanes ?? new ImplicitGemmConvolution(shape);
            var rows = Rows(shape);
            var narrowForward = rows ?? lanes ?? (PositionMajorCoversNarrow(shape) ? new PositionMajorConvolution(shape) : general);
            return new(narrowForward, general, rows ?? general);
        }
        var gemm = new ImplicitGemmConvolution(shape);
        bool sixMaps = shape.InMaps == SixMapLanes.Maps && shape.Pad == 0 && n >= SixMapLanes.Lanes / 2;
        bool singleMap = SingleMapConvolution.Covers(shape);
        ConvolutionKernel forward =
            sixMaps && shape.OutMaps % 8 == 0 ? new SixMapConvolution(shape) :
            shape.OutMaps % 16 == 0 && shape.OutHeight * shape.OutWidth >= 8 ? new PositionMajorConvolution(shape) :
            singleMap ? new SingleMapConvolution(shape) : gemm;
        ConvolutionKernel backward = sixMaps && shape.OutMaps % 4 == 0 ? forward as SixMapConvolution ?? new SixMapConvolution(shape) : gemm;
        ConvolutionKernel weightsOnly = singleMap ? forward : gemm;
        return new(forward, backward, weightsOnly);
    }

    // At 256 and 128 bits: samples in lanes (LaneConvolution) where the shape allows and half the lanes fill.
    static ConvolutionKernel? Narrow(ConvolutionShape shape, int n)
    {
        if (Simd.Allows(SimdWidth.V256))
            return LaneConvolution<Lanes256>.Covers(shape) && n >= Lanes256.Count / 2 ? new LaneConvolution<Lanes256>(shape) : null;
        if (Simd.Allows(SimdWidth.V128))
            return LaneConvolution<Lanes128>.Covers(shape) && n >= Lanes128.Count / 2 ? new LaneConvolution<Lanes128>(shape) : null;
        return null;
    }

    // Below 512 bits, too few samples to fill lanes: output positions as the GEMM's rows when the maps fill two vectors.
    static bool PositionMajorCoversNarrow(ConvolutionShape shape)
    {
        int lanes = Simd.Allows(SimdWidth.V256) ? Lanes256.Count : Simd.Allows(SimdWidth.V128) ? Lanes128.Count : 0;
        return lanes > 0 && shape.OutMaps % (2 * lanes) == 0 && shape.OutHeight * shape.OutWidth >= 6;
    }

    // At 256 and 128 bits, a first layer with 5×5 kernels: vectors along output rows (RowConvolution), for any batch.
    static ConvolutionKernel? Rows(ConvolutionShape shape)
    {
        if (Simd.Allows(SimdWidth.V256)) return RowConvolution<Lanes256>.Covers(shape) ? new RowConvolution<Lanes256>(shape) : null;
        if (Simd.Allows(SimdWidth.V128)) return RowConvolution<Lanes128>.Covers(shape) ? new RowConvolution<Lanes128>(shape) : null;
        return null;
    }

    /// <summary>Scratch enough for any plan of this shape with up to n samples at any width.</summary>
    public static int ScratchBound(ConvolutionShape shape, int n)
    {
        if (shape.IsDense) return new DenseConvolution(shape).ScratchLength(n);
        int most = new ImplicitGemmConvolution(shape).ScratchLength(n);
        most = Math.Max(most, new PositionMajorConvolution(shape).ScratchLength(n));
        if (shape.InMaps == SixMapLanes.Maps && shape.Pad == 0) most = Math.Max(most, new SixMapConvolution(shape).ScratchLength(n));
        if (shape.InMaps == 1)
        {
            most = Math.Max(most, new SingleMapConvolution(shape).ScratchLength(n));
            most = Math.Max(most, new RowConvolution<Lanes256>(shape).ScratchLength(n));
            most = Math.Max(most, new RowConvolution<Lanes128>(shape).ScratchLength(n));
        }
        most = Math.Max(most, new LaneConvolution<Lanes256>(shape).ScratchLength(n));
        most = Math.Max(most, new LaneConvolution<Lanes128>(shape).ScratchLength(n));
        return most;
    }
}
