// The input encoding (28x28 bytes → the network's input floats) against its formula, at every SIMD
// width: background + scale·pixel, the same floats bit for bit, the border (if any) at background.
using LeNet.Kernels;
using LeNet.Models;
using LeNet.Tests.Kernels;
using Xunit;

namespace LeNet.Tests.Models;

[Collection(SimdCollection.Name)]
public sealed class InputEncodingTests
{
    public static TheoryData<string> Encodings() => new() { "standardized", "paper" };

    static InputEncoding Named(string name) => name == "paper" ? Architectures.Paper : Architectures.Standardized;

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Every_width_gives_background_plus_scale_times_pixel(string name)
    {
        var encoding = Named(name);
        var image = new byte[784];
        for (int i = 0; i < image.Length; i++) image[i] = (byte)(i * 37 + i / 28);
        float scale = (encoding.Ink - encoding.Background) / 255f;
        int side = encoding.Side, pad = encoding.Pad;
        foreach (SimdWidth width in GemmTests.Widths())
        {
            using var _ = Simd.Use(width);
            var x = new float[side * side + 3];
            x.AsSpan().Fill(float.NaN);
            // The image is the last 784 bytes of its array: a read past its end would throw.
            encoding.Encode(image, x);
            for (int y = 0; y < side; y++)
                for (int c = 0; c < side; c++)
                {
                    int iy = y - pad, ix = c - pad;
                    float expected = iy is >= 0 and < 28 && ix is >= 0 and < 28 ? encoding.Background + scale * image[iy * 28 + ix] : encoding.Background;
                    Assert.Equal(expected, x[y * side + c]);
                }
            Assert.True(float.IsNaN(x[side * side]), $"{width}: wrote past the input");
        }
    }

    [Fact]
    public void A_short_image_or_destination_is_refused()
    {
        var encoding = Architectures.Standardized;
        Assert.Throws<ArgumentException>(() => encoding.Encode(new byte[783], new float[784]));
        Assert.Throws<ArgumentException>(() => encoding.Encode(new byte[784], new float[783]));
    }
}
