// One digit from an image: the photo pipeline (Photo/PhotoPipeline.cs) with all the ink read as a
// single digit, as `lenet predict --single` and the report's feature maps use it. An image that
// already is an MNIST digit (28x28, light on dark) is used as it is. For several digits in one image
// and a measure of doubt, see LeNet.Reading.DigitReader.
namespace LeNet.Data;

public sealed record PreprocessedDigit(byte[] Pixels28, int SourceWidth, int SourceHeight, bool Inverted);

public static class DigitPreprocessor
{
    public const long MaxMegapixels = ImageDecoder.MaxMegapixels;

    /// <summary>Decodes an image file (PNG, JPEG, BMP, GIF, WebP, ...) and preprocesses it.</summary>
    public static PreprocessedDigit FromFile(string path, long maxPixels = MaxMegapixels * 1_000_000) =>
        FromImage(ImageDecoder.FromFile(path, maxPixels), Path.GetFileName(path));

    public static PreprocessedDigit FromBytes(byte[] data, string name, long maxPixels = MaxMegapixels * 1_000_000, int maxSide = int.MaxValue) =>
        FromImage(ImageDecoder.FromBytes(data, name, maxPixels, maxSide), name);

    /// <summary>Decodes and preprocesses; images over <paramref name="maxPixels"/> or with a side over <paramref name="maxSide"/> are refused before decoding.</summary>
    public static PreprocessedDigit FromStream(Stream stream, string name, long maxPixels = MaxMegapixels * 1_000_000, int maxSide = int.MaxValue) =>
        FromImage(ImageDecoder.FromStream(stream, name, maxPixels, maxSide), name);

    /// <summary>Preprocesses a grey image given as rows of floats in [0, 1] (any polarity).</summary>
    public static PreprocessedDigit FromGray(float[] gray, int w, int h, int sourceWidth, int sourceHeight, string name) =>
        FromImage(new DecodedImage(new GrayImage(w, h, gray), sourceWidth, sourceHeight), name);

    public static PreprocessedDigit FromImage(DecodedImage image, string name)
    {
        if (PhotoPipeline.IsMnistFormat(image.Gray))
            return new PreprocessedDigit(image.Gray.ToBytes(), image.SourceWidth, image.SourceHeight, false);
        var stages = PhotoPipeline.Run(image, name);
        return new PreprocessedDigit(DigitFrame.Frame(stages.Ink.Ink, Whole(stages.Regions)), image.SourceWidth, image.SourceHeight, !stages.Ink.LightInk);
    }

    /// <summary>All the digits' ink as one region.</summary>
    public static DigitRegion Whole(IReadOnlyList<DigitRegion> regions) => regions.Count == 1 ? regions[0] :
        new DigitRegion(regions.Skip(1).Aggregate(regions[0].Box, (b, r) => b.Union(r.Box)), regions.SelectMany(r => r.Pixels).ToArray());
}
