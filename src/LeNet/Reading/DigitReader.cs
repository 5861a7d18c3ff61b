// Reads the digits in an image, left to right, and says where it is unsure. The image goes through the
// photo pipeline (LeNet.Data.PhotoPipeline: decode, ink relative to the paper's light, straight lines
// out, digits cut apart, each fitted to 28x28); the network reads every digit; where a piece of ink
// could be one wide digit or two touching ones, both readings are tried and the one the network reads
// with more confidence (weighed against how wide one digit can be) is kept.
//
// Doubt: every digit's probabilities are calibrated (Models/Calibration.cs), and a digit is marked
// uncertain, with the reason, when
//   - its calibrated top probability is below the model's fitted threshold ("low confidence");
//   - another cut of the ink reads almost as well ("several candidate readings");
//   - its ink does not look like a digit at all: far too wide, or covering too little or too much of
//     its frame for any handwritten digit ("ink unlike a digit").
using LeNet.Data;
using LeNet.Models;

namespace LeNet.Reading;

/// <summary>One digit read: the network's calibrated probabilities, where it is (original image pixels), the 28x28 it saw.</summary>
public sealed record DigitReading(int Digit, float[] Probabilities, PixelBox Box, byte[] Input28, bool Uncertain, string? Reason)
{
    public float Confidence => Probabilities[Digit];
}

/// <summary>What an image says: the digits left to right as a number, each digit, and whether any of it is uncertain.</summary>
public sealed record Reading(string Number, IReadOnlyList<DigitReading> Digits, bool Uncertain, string? Reason, int SourceWidth, int SourceHeight, bool Inverted)
{
    /// <summary>The pipeline's stages for this image (null for an image that already was an MNIST digit).</summary>
    public PhotoStages? Stages { get; init; }
}

public sealed class DigitReader(Network network)
{
    public const string LowConfidence = "low confidence";
    public const string SeveralReadings = "several candidate readings";
    public const string UnlikeADigit = "ink unlike a digit";

    public Network Network { get; } = network;

    /// <summary>Reads an image file (PNG, JPEG, BMP, GIF, WebP).</summary>
    public Reading Read(string path, bool single = false) => Read(ImageDecoder.FromFile(path), Path.GetFileName(path), single);

    /// <summary>Reads encoded image bytes; images over the limits are refused before decoding.</summary>
    public Reading Read(byte[] data, string name, bool single = false, long maxPixels = ImageDecoder.MaxMegapixels * 1_000_000, int maxSide = int.MaxValue) =>
        Read(ImageDecoder.FromBytes(data, name, maxPixels, maxSide), name, single);

    /// <summary>Reads a decoded image; with <paramref name="single"/> all its ink is read as one digit.</summary>
    public Reading Read(DecodedImage image, string name, bool single = false)
    {
        if (PhotoPipeline.IsMnistFormat(image.Gray)) return ReadMnist(image.Gray.ToBytes(), image);
        var stages = PhotoPipeline.Run(image, name);
        var ink = stages.Ink.Ink;
        var regions = single ? [DigitPreprocessor.Whole(stages.Regions)] : stages.Regions;

        // Every way to read every region, predicted in one batch.
        var inputs = new List<byte[]>();
        var plans = new List<List<DigitRegion[]>>();
        foreach (var region in regions)
        {
            var options = new List<DigitRegion[]> { new[] { region } };
            if (!single) options.AddRange(region.Splits);
            plans.Add(options);
            foreach (var option in options)
                foreach (var part in option) inputs.Add(DigitFrame.Frame(ink, part));
        }
        var probabilities = Predict(inputs);

        var digits = new List<DigitReading>();
        int next = 0;
        foreach (var options in plans)
        {
            // Score each option: geometric mean of its digits' confidence, times how plausible one digit
            // this wide is, times a prior against cutting ink that is connected (0.85 per cut).
            var scores = new double[options.Count];
            int first = next;
            for (int o = 0; o < options.Count; o++)
            {
                double log = 0;
                foreach (var part in options[o])
                {
                    log += Math.Log(Math.Max(1e-6, probabilities[next].Max())) + Math.Log(Plausibility(part.Box));
                    next++;
                }
                scores[o] = Math.Exp(log / options[o].Length) * Math.Pow(0.85, options[o].Length - 1);
            }
            int chosen = 0;
            for (int o = 1; o < options.Count; o++) if (scores[o] > scores[chosen]) chosen = o;
            double runnerUp = scores.Where((_, o) => o != chosen).DefaultIfEmpty(0).Max();
            string? ambiguity = runnerUp > 0.5 && scores[chosen] - runnerUp < 0.15 ? SeveralReadings : null;
            int at = first + options.Take(chosen).Sum(o => o.Length);
            foreach (var part in options[chosen])
            {
                digits.Add(Judge(inputs[at], probabilities[at], stages.ToSource(part.Box), part.Box.Width / (float)part.Box.Height, ambiguity));
                at++;
            }
        }
        return Assemble(digits, image, !stages.Ink.LightInk, stages);
    }

    /// <summary>Reads an MNIST-style 28x28 digit (784 bytes, 0 = background, 255 = ink) as it is.</summary>
    public Reading ReadMnist(byte[] pixels28) => ReadMnist(pixels28, new DecodedImage(new GrayImage(28, 28), 28, 28));

    Reading ReadMnist(byte[] input, DecodedImage image)
    {
        var digit = Judge(input, Predict([input])[0], new PixelBox(0, 0, image.SourceWidth, image.SourceHeight), 1, null);
        return Assemble([digit], image, false, null);
    }

    /// <summary>How likely one handwritten digit is to be this wide for its height (1 up to 1.5 times wider than tall).</summary>
    static double Plausibility(PixelBox box)
    {
        double aspect = box.Width / (double)Math.Max(1, box.Height);
        return aspect <= 1.5 ? 1 : Math.Exp(-3 * (aspect - 1.5));
    }

    List<float[]> Predict(List<byte[]> inputs)
    {
        var flat = new byte[inputs.Count * 784];
        for (int i = 0; i < inputs.Count; i++) inputs[i].CopyTo(flat, i * 784);
        var p = new float[inputs.Count * Loss.Classes];
        Network.Predict(flat, inputs.Count, p, threads: 1);
        var result = new List<float[]>(inputs.Count);
        for (int i = 0; i < inputs.Count; i++)
        {
            var one = p.AsSpan(i * Loss.Classes, Loss.Classes).ToArray();
            Network.Calibration.Apply(one);
            result.Add(one);
        }
        return result;
    }

    DigitReading Judge(byte[] input, float[] p, PixelBox box, float aspect, string? ambiguity)
    {
        int digit = Array.IndexOf(p, p.Max());
        string? reason = null;
        int inked = input.Count(v => v >= 128);
        if (aspect > 1.6f || inked < 0.03 * 784 || inked > 0.45 * 784) reason = UnlikeADigit;
        else if (p[digit] < Network.Calibration.UnsureBelow) reason = LowConfidence;
        else reason = ambiguity;
        return new DigitReading(digit, p, box, input, reason is not null, reason);
    }

    static Reading Assemble(List<DigitReading> digits, DecodedImage image, bool inverted, PhotoStages? stages)
    {
        var reasons = digits.Where(d => d.Uncertain).Select(d => d.Reason!).Distinct().ToList();
        return new Reading(string.Concat(digits.Select(d => d.Digit)), digits, reasons.Count > 0, reasons.Count > 0 ? string.Join("; ", reasons) : null,
            image.SourceWidth, image.SourceHeight, inverted) { Stages = stages };
    }
}
