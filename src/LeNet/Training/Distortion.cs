// Random distortions of training digits, as in the 1998 paper (Sec. III-C, "distortions"):
// horizontal and vertical translation, scaling, squeezing (compress one axis while stretching the
// other) and horizontal shearing, as one affine map about the image centre with bilinear sampling.
// Applied on the fly to each sample as it is encoded: no extra memory per epoch.
// Not done: the paper's elastic distortions.
namespace LeNet.Training;

public static class Distortion
{
    public const float MaxShift = 2f, MaxScale = 0.1f, MaxSqueeze = 0.15f, MaxShear = 0.25f;

    /// <summary>Writes a randomly distorted copy of a 28x28 image into <paramref name="destination"/>.</summary>
    public static void Apply(ReadOnlySpan<byte> source, Span<byte> destination, Rng rng)
    {
        float tx = rng.Uniform(-MaxShift, MaxShift), ty = rng.Uniform(-MaxShift, MaxShift);
        float s = 1 + rng.Uniform(-MaxScale, MaxScale), q = 1 + rng.Uniform(-MaxSqueeze, MaxSqueeze);
        float sx = s * q, sy = s / q, h = rng.Uniform(-MaxShear, MaxShear);
        // Forward map p' = A·p + t with A = [[sx, h·sy], [0, sy]] about the centre; sample through A⁻¹.
        float ia = 1 / sx, ib = -h / sx, id = 1 / sy;
        const float c = 13.5f;
        for (int y = 0; y < 28; y++)
        {
            float v = y - c - ty;
            for (int x = 0; x < 28; x++)
            {
                float u = x - c - tx;
                float sv = id * v, su = ia * u + ib * v;   // A⁻¹ = [[1/sx, −h/sx], [0, 1/sy]] (the sy factors cancel)
                destination[y * 28 + x] = Sample(source, su + c, sv + c);
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
