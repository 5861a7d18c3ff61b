// Random distortions of training digits, as in the 1998 paper (Sec. III-C, "distortions"):
// horizontal and vertical translation, scaling, squeezing (compress one axis while stretching the
// other) and horizontal shearing, as one affine map about the image centre with bilinear sampling.
// Optionally also elastic distortions (Simard, Steinkraus & Platt 2003, "Best practices for
// convolutional neural networks applied to visual document analysis"): a random displacement field,
// uniform in [−1, 1] at each pixel, smoothed by a Gaussian of width σ and scaled by α, moves every
// pixel a little, differently in each part of the digit. Applied on the fly to each sample as it is
// encoded: no extra memory per epoch.
using LeNet.Kernels;

namespace LeNet.Training;

public static class Distortion
{
    public const float MaxShift = 2f, MaxScale = 0.1f, MaxSqueeze = 0.15f, MaxShear = 0.25f;

    /// <summary>
    /// Writes a randomly distorted copy of a 28x28 image into <paramref name="destination"/>; with an
    /// <paramref name="elastic"/> field, an elastic distortion drawn from the same generator as well.
    /// </summary>
    public static void Apply(ReadOnlySpan<byte> source, Span<byte> destination, Rng rng, ElasticField? elastic = null)
    {
        float tx = rng.Uniform(-MaxShift, MaxShift), ty = rng.Uniform(-MaxShift, MaxShift);
        float s = 1 + rng.Uniform(-MaxScale, MaxScale), q = 1 + rng.Uniform(-MaxSqueeze, MaxSqueeze);
        float sx = s * q, sy = s / q, h = rng.Uniform(-MaxShear, MaxShear);
        // Forward map p' = A·p + t with A = [[sx, h·sy], [0, sy]] about the centre; sample through A⁻¹.
        float ia = 1 / sx, ib = -h / sx, id = 1 / sy;
        const float c = 13.5f;
        ReadOnlySpan<float> dx = default, dy = default;
        if (elastic is not null)
        {
            elastic.Generate(rng);
            dx = elastic.Dx;
            dy = elastic.Dy;
        }
        for (int y = 0; y < 28; y++)
        {
            float v = y - c - ty;
            for (int x = 0; x < 28; x++)
            {
                float u = x - c - tx;
                float sv = id * v, su = ia * u + ib * v;   // A⁻¹ = [[1/sx, −h/sx], [0, 1/sy]] (the sy factors cancel)
                int i = y * 28 + x;
                destination[i] = elastic is null ? Sample(source, su + c, sv + c) : Sample(source, su + c + dx[i], sv + c + dy[i]);
            }
        }
    }

    static byte Sample(ReadOnlySpan<byte> img, float x, float y)
    {
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float fx = x - x0, fy = y - y0;
        float v = (1 - fx) * (1 - fy) * At(img, x0, y0) + fx * (1 - fy) * At(img, x0 + 1, y0)
                + (1 - fx) * fy * At(img, x0, y0 + 1) + fx * fy * At(img, x0 + 1, y0 + 1);
        return (byte)Math.Clamp((int)(v + 0.5f), 0, 255);
    }

    static float At(ReadOnlySpan<byte> img, int x, int y) => (uint)x < 28 && (uint)y < 28 ? img[y * 28 + x] : 0f;
}

/// <summary>
/// An elastic displacement field for 28x28 images (Simard et al. 2003): for each pixel a uniform
/// random value in [−1, 1] per axis, smoothed by a Gaussian of standard deviation <see cref="Sigma"/>
/// (zero beyond the edges, cut at 4σ) and multiplied by <see cref="Alpha"/>. Smoothing a 28x28 field
/// along both axes is G·U·G with G the Gaussian's 28x28 matrix: two small matrix products on the
/// vector GEMM kernels, both fields at once. One per worker thread; <see cref="Generate"/> reuses its
/// buffers.
/// </summary>
public sealed class ElasticField
{
    const int Side = 28, Pixels = Side * Side;
    public const float DefaultAlpha = 34f, DefaultSigma = 4f;
    readonly float[] _g = new float[Pixels], _alphaG = new float[Pixels];
    readonly float[] _u = new float[2 * Pixels], _v = new float[2 * Pixels];   // 28 rows of [x field | y field]
    readonly float[] _dx = new float[Pixels], _dy = new float[Pixels];

    public ElasticField(float alpha, float sigma)
    {
        if (!(alpha >= 0) || !float.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha));
        if (!(sigma >= 0.5f && sigma <= 14)) throw new ArgumentOutOfRangeException(nameof(sigma));
        Alpha = alpha;
        Sigma = sigma;
        int r = (int)Math.Ceiling(4 * sigma);
        double total = 0;
        for (int k = -r; k <= r; k++) total += Math.Exp(-k * k / (2.0 * sigma * sigma));
        for (int i = 0; i < Side; i++)
            for (int j = 0; j < Side; j++)
                if (Math.Abs(i - j) <= r)
                {
                    double w = Math.Exp(-(i - j) * (i - j) / (2.0 * sigma * sigma)) / total;
                    _g[i * Side + j] = (float)w;
                    _alphaG[i * Side + j] = (float)(w * alpha);
                }
    }

    public float Alpha { get; }
    public float Sigma { get; }
    /// <summary>The last field's displacements in pixels, row by row: x and y.</summary>
    public ReadOnlySpan<float> Dx => _dx;
    public ReadOnlySpan<float> Dy => _dy;

    public void Generate(Rng rng)
    {
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                ulong bits = rng.NextUInt64();   // two 24-bit uniforms from one draw
                _u[y * 2 * Side + x] = (bits >> 40) * (2f / (1 << 24)) - 1;
                _u[y * 2 * Side + Side + x] = ((bits >> 16) & 0xFFFFFF) * (2f / (1 << 24)) - 1;
            }
        // Along y for both fields (G·U), then along x for each (·αG; G is symmetric).
        Gemm.MultiplyNN(Side, 2 * Side, Side, _g, Side, _u, 2 * Side, _v, 2 * Side, accumulate: false);
        Gemm.MultiplyNN(Side, Side, Side, _v, 2 * Side, _alphaG, Side, _dx, Side, accumulate: false);
        Gemm.MultiplyNN(Side, Side, Side, _v.AsSpan(Side), 2 * Side, _alphaG, Side, _dy, Side, accumulate: false);
    }
}
