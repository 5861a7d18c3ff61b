// The shape of a 2-D convolution (stride 1, zero padding) and its plain definition: the reference
// every convolution kernel is tested against, and what runs where no faster kernel applies.
//   input (N, InMaps, Height, Width) → output (N, OutMaps, OutHeight, OutWidth)
//   weights (OutMaps, InMaps, K, K) row-major, bias (OutMaps)

namespace LeNet.Kernels;

/// <summary>A stride-1 convolution: InMaps maps of Height×Width in, OutMaps maps out, K×K kernels, Pad zeros on every side.</summary>
public readonly record struct ConvolutionShape(int InMaps, int Height, int Width, int OutMaps, int K, int Pad)
{
    public int OutHeight => Height + 2 * Pad - K + 1;
    public int OutWidth => Width + 2 * Pad - K + 1;
    public int InputSize => InMaps * Height * Width;
    public int OutputSize => OutMaps * OutHeight * OutWidth;
    /// <summary>Weights of one output map: InMaps·K·K (the K of the convolution as a matrix product).</summary>
    public int PatchSize => InMaps * K * K;
    public int WeightCount => OutMaps * PatchSize;

    /// <summary>A kernel that covers its whole input with no padding: a dense layer over the flattened input.</summary>
    public bool IsDense => OutHeight == 1 && OutWidth == 1 && Pad == 0;

    public override string ToString() => $"{InMaps}x{Height}x{Width} → {OutMaps}x{OutHeight}x{OutWidth}, {K}x{K}, pad {Pad}";
}

public static class ConvolutionReference
{
    /// <summary>y[s,co,oy,ox] = b[co] + Σ_ci,ky,kx w[co,ci,ky,kx]·x[s,ci,oy+ky−pad,ox+kx−pad] (zero outside x), then relu when asked.</summary>
    public static void Forward(ConvolutionShape c, ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int n, bool relu)
    {
        for (int s = 0; s < n; s++)
            for (int co = 0; co < c.OutMaps; co++)
                for (int oy = 0; oy < c.OutHeight; oy++)
                    for (int ox = 0; ox < c.OutWidth; ox++)
                    {
                        float z = b[co];
                        for (int ci = 0; ci < c.InMaps; ci++)
                            for (int ky = 0; ky < c.K; ky++)
                                for (int kx = 0; kx < c.K; kx++)
                                    z += w[((co * c.InMaps + ci) * c.K + ky) * c.K + kx] * Input(c, x, s, ci, oy + ky - c.Pad, ox + kx - c.Pad);
                        y[((s * c.OutMaps + co) * c.OutHeight + oy) * c.OutWidth + ox] = relu ? MathF.Max(z, 0) : z;
                    }
    }

    /// <summary>
    /// Given dz = ∂L/∂z (z before the activation): dW[co,ci,ky,kx] += Σ dz[s,co,oy,ox]·x[s,ci,oy+ky−pad,ox+kx−pad],
    /// db[co] += Σ dz[s,co,·,·], and, when dx is not empty, dx[s,ci,iy,ix] = Σ dz[s,co,oy,ox]·w[co,ci,iy−oy+pad,ix−ox+pad].
    /// </summary>
    public static void Backward(ConvolutionShape c, ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<float> dz,
        Span<float> dx, Span<float> dW, Span<float> db, int n)
    {
        if (!dx.IsEmpty) dx[..(n * c.InputSize)].Clear();
        for (int s = 0; s < n; s++)
            for (int co = 0; co < c.OutMaps; co++)
                for (int oy = 0; oy < c.OutHeight; oy++)
                    for (int ox = 0; ox < c.OutWidth; ox++)
                    {
                        float g = dz[((s * c.OutMaps + co) * c.OutHeight + oy) * c.OutWidth + ox];
                        db[co] += g;
                        for (int ci = 0; ci < c.InMaps; ci++)
                            for (int ky = 0; ky < c.K; ky++)
                                for (int kx = 0; kx < c.K; kx++)
                                {
                                    int iy = oy + ky - c.Pad, ix = ox + kx - c.Pad, wi = ((co * c.InMaps + ci) * c.K + ky) * c.K + kx;
                                    if (iy < 0 || ix < 0 || iy >= c.Height || ix >= c.Width) continue;
                                    int xi = ((s * c.InMaps + ci) * c.Height + iy) * c.Width + ix;
                                    dW[wi] += g * x[xi];
                                    if (!dx.IsEmpty) dx[xi] += g * w[wi];
                                }
                    }
    }

    static float Input(ConvolutionShape c, ReadOnlySpan<float> x, int s, int ci, int iy, int ix) =>
        iy < 0 || ix < 0 || iy >= c.Height || ix >= c.Width ? 0 : x[((s * c.InMaps + ci) * c.Height + iy) * c.Width + ix];
}
