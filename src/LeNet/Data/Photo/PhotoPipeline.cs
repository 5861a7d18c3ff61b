// The photo pipeline, from an image file to the ink of each digit, in five stages that can each be
// looked at (the web page shows them):
//   1. ImageDecoder   the file, decoded, oriented and reduced to a grey working image;
//   2. InkMaps        ink strength at every pixel, relative to the paper's own brightness there
//                     (shadows and lighting removed), and a threshold between ink and paper;
//   3. Lines          long straight lines (ruled paper, a rule or pen line across) taken out;
//   4. Segmenter      the ink cut into digits, left to right;
//   5. DigitFrame     each digit fitted into MNIST's 28x28 frame.
// The reader (LeNet.Reading.DigitReader) adds the network and says how sure it is.
namespace LeNet.Data;

/// <summary>What each stage of the pipeline made of one image.</summary>
public sealed record PhotoStages(DecodedImage Source, InkMap Ink, bool[] Mask, IReadOnlyList<StraightLine> Lines, IReadOnlyList<DigitRegion> Regions)
{
    public GrayImage Gray => Source.Gray;

    /// <summary>A box of the working image in the original image's pixels.</summary>
    public PixelBox ToSource(PixelBox box)
    {
        var b = box.Scale((double)Source.SourceWidth / Gray.Width, (double)Source.SourceHeight / Gray.Height);
        int x = Math.Clamp(b.X, 0, Source.SourceWidth - 1), y = Math.Clamp(b.Y, 0, Source.SourceHeight - 1);
        return new PixelBox(x, y, Math.Min(b.Width, Source.SourceWidth - x), Math.Min(b.Height, Source.SourceHeight - y));
    }
}

public static class PhotoPipeline
{
    /// <summary>True for an image that already is an MNIST digit: 28x28, light ink on a dark ground. It is read as it is.</summary>
    public static bool IsMnistFormat(GrayImage gray) =>
        gray.Width == 28 && gray.Height == 28 && Statistics.Quantile(gray.Pixels, 0.5f) < 0.5f;

    public static PhotoStages Run(DecodedImage image, string name)
    {
        var gray = image.Gray;
        var ink = InkMaps.Find(gray);
        float max = ink.Ink.Pixels.Max();
        if (max < 0.08f) throw new NoDigitException($"{name}: no digit found (the image is blank or has too little contrast).");
        float high = Math.Min(ink.Threshold, 0.6f * max);
        var mask = Hysteresis(ink.Ink, high);
        // Lines are looked for where the ink is at least faint: there a light ruled line is whole, while
        // the mask holds only the pieces of it that hysteresis grew from a digit it touches.
        var faint = Array.ConvertAll(ink.Ink.Pixels, v => v >= Math.Max(0.25f * high, 0.06f));
        var lines = Lines.Remove(mask, ink.Ink, faint);
        Lines.RemoveSpurs(mask, ink.Ink, ink.StrokeWidth);
        var regions = Segmenter.Find(mask, gray.Width, gray.Height);
        if (regions.Count == 0) throw new NoDigitException($"{name}: no digit found.");
        return new PhotoStages(image, ink, mask, lines, regions);
    }

    /// <summary>Pixels at or above <paramref name="high"/>, and those above half of it that touch them.</summary>
    public static bool[] Hysteresis(GrayImage ink, float high)
    {
        int w = ink.Width, h = ink.Height;
        float low = 0.5f * high;
        var mask = new bool[w * h];
        var stack = new Stack<int>();
        for (int i = 0; i < mask.Length; i++)
            if (ink.Pixels[i] >= high && !mask[i]) { mask[i] = true; stack.Push(i); }
        while (stack.Count > 0)
        {
            int p = stack.Pop(), px = p % w, py = p / w;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                {
                    int qx = px + dx, qy = py + dy;
                    if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
                    int q = qy * w + qx;
                    if (!mask[q] && ink.Pixels[q] >= low) { mask[q] = true; stack.Push(q); }
                }
        }
        return mask;
    }
}
