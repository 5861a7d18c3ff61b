// Test images of handwritten digits under the conditions people meet when they photograph paper,
// draw on a canvas or scan small: each a deterministic function of (condition, index, seed). The
// digits come from the MNIST test set (which no model trains on) and, for one image in three, from
// pen-path templates or handwriting fonts, so that not every shape is MNIST's.
using LeNet.Data;
using SkiaSharp;

namespace LeNet.PhotoLab;

public enum Condition
{
    Clean, ThinPen, Colour, Edge, Ruled, Squared, SoftShadow, LightShadow,
    Gradient, Line, HardShadow, Canvas, OptDigits, Number,
}

/// <summary>One test image: what it shows (<paramref name="Label"/>, e.g. "7" or "2026") and its encoded bytes.</summary>
public sealed record Sample(Condition Condition, int Index, string Label, string Source, byte[] Bytes, string Extension)
{
    public string Name => $"{Conditions.Name(Condition)}-{Index:D3}-{Source}-{Label}{Extension}";
}

public sealed class Conditions(MnistDataset test, IReadOnlyList<SKTypeface> fonts, ulong seed = 2026)
{
    public static readonly Condition[] All = Enum.GetValues<Condition>();

    /// <summary>The conditions that are photographs of paper with everyday light (the "photo" group).</summary>
    public static readonly Condition[] Everyday =
        [Condition.Clean, Condition.ThinPen, Condition.Colour, Condition.Edge, Condition.Ruled, Condition.Squared, Condition.SoftShadow, Condition.LightShadow];

    /// <summary>The conditions that defeat a global threshold.</summary>
    public static readonly Condition[] Hard = [Condition.Gradient, Condition.Line, Condition.HardShadow];

    public static string Name(Condition c) => c switch
    {
        Condition.ThinPen => "thin-pen",
        Condition.SoftShadow => "soft-shadow",
        Condition.LightShadow => "light-shadow",
        Condition.HardShadow => "hard-shadow",
        _ => c.ToString().ToLowerInvariant(),
    };

    public static string Describe(Condition c) => c switch
    {
        Condition.Clean => "clean photo: pen on white paper, mild shading",
        Condition.ThinPen => "thin ballpoint on a 2000x1500 photo",
        Condition.Colour => "coloured ink on coloured paper",
        Condition.Edge => "digit touching the photo's edge",
        Condition.Ruled => "light ruled lines (and a margin)",
        Condition.Squared => "squared paper",
        Condition.SoftShadow => "soft shadow across the digit",
        Condition.LightShadow => "light hard-edged shadow (paper at 70–80%)",
        Condition.Gradient => "steep lighting gradient (down to 20–35%)",
        Condition.Line => "a dark line across the digit (pen line or printed rule)",
        Condition.HardShadow => "hard-edged shadow across the digit (to 30–45%)",
        Condition.Canvas => "light-on-dark canvas drawing, 280x280",
        Condition.OptDigits => "8x8 optical digit upscaled to 64x64",
        Condition.Number => "a number of 2 to 4 digits",
        _ => c.ToString(),
    };

    /// <summary>
    /// Handwriting fonts found on this machine (Debian's fonts-dkg-handwriting, fonts-breip,
    /// fonts-humor-sans, fonts-comic-neue, fonts-klee, fonts-dancingscript), in a fixed order. Outline
    /// and connected-script fonts (femkeklaver, Kristi) are left out: nobody writes digits that way.
    /// </summary>
    public static IReadOnlyList<SKTypeface> HandwritingFonts()
    {
        string[] files =
        [
            "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
            "/usr/share/fonts/truetype/breip/Breip.ttf",
            "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
            "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
            "/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf",
            "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
        ];
        return files.Where(File.Exists).Select(f => SKTypeface.FromFile(f)).Where(t => t is not null).ToList();
    }

    public IEnumerable<Sample> Make(Condition c, int count)
    {
        for (int i = 0; i < count; i++) yield return One(c, i);
    }

    public Sample One(Condition c, int index)
    {
        var rng = Rng.For(seed, (ulong)c + 1, (ulong)index);
        int mnistIndex = (int)(Rng.SeedFor(seed, 99, (ulong)((int)c * 100_003 + index)) % (ulong)test.Count);
        // Two images in three are MNIST test digits; the third a template or a font.
        string source = c is Condition.OptDigits or Condition.Number || index % 3 != 2 ? "mnist" : fonts.Count > 0 && index % 6 == 5 ? "font" : "pen";
        // A thin pen or a canvas brush redraws an MNIST digit along its centre line; where that loses a
        // stroke or adds loops, another test digit of the same class is drawn instead.
        if (source == "mnist" && c is Condition.ThinPen or Condition.Canvas)
            for (int tries = 0; tries < 50 && !Glyph.CentreLineKeepsShape(test.Image(mnistIndex)); tries++)
            {
                int label0 = test.Labels[mnistIndex];
                do mnistIndex = (mnistIndex + 7919) % test.Count; while (test.Labels[mnistIndex] != label0);
            }
        int label = source == "mnist" ? test.Labels[mnistIndex] : index % 10;
        SKTypeface? font = source == "font" ? fonts[index / 6 % fonts.Count] : null;

        Glyph Shape(int height, float pen) => source switch
        {
            "mnist" when pen > 0 => Glyph.FromMnistCentreLine(test.Image(mnistIndex), height, pen),
            "mnist" => Glyph.FromMnist(test.Image(mnistIndex), height),
            "font" => Glyph.FromFont(label, font!, height),
            _ => Glyph.FromTemplate(label, height, pen > 0 ? pen : height * rng.Uniform(0.07f, 0.12f), rng),
        };

        return c switch
        {
            Condition.Canvas => new Sample(c, index, label.ToString(), source, CanvasDrawing(Shape, rng), ".png"),
            Condition.OptDigits => new Sample(c, index, label.ToString(), source, OptDigit(test.Image(mnistIndex), rng), ".png"),
            Condition.Number => NumberPhoto(c, index, rng),
            _ => new Sample(c, index, label.ToString(), source, Photo(c, Shape, rng), ".jpg"),
        };
    }

    static readonly Colour[] Pens = [new(0.10f, 0.12f, 0.35f), new(0.08f, 0.08f, 0.10f), new(0.15f, 0.2f, 0.55f)];
    static readonly Colour[] ColourInks = [new(0.75f, 0.1f, 0.1f), new(0.1f, 0.45f, 0.2f), new(0.4f, 0.12f, 0.6f), new(0.1f, 0.25f, 0.85f), Colour.Grey(0.42f)];
    static readonly Colour[] ColourPapers = [new(0.98f, 0.92f, 0.55f), new(0.98f, 0.8f, 0.85f), new(0.76f, 0.88f, 0.98f), new(0.8f, 0.95f, 0.75f), new(0.8f, 0.7f, 0.55f)];

    byte[] Photo(Condition c, Func<int, float, Glyph> shape, Rng rng)
    {
        int w = c == Condition.ThinPen ? 2000 : 1200 + rng.NextInt(800), h = c == Condition.ThinPen ? 1500 : 900 + rng.NextInt(600);
        var tone = c == Condition.Colour ? ColourPapers[rng.NextInt(ColourPapers.Length)] : new Colour(rng.Uniform(0.86f, 0.97f), rng.Uniform(0.85f, 0.96f), rng.Uniform(0.78f, 0.94f));
        var ink = c == Condition.Colour ? ColourInks[rng.NextInt(ColourInks.Length)] : Pens[rng.NextInt(Pens.Length)];
        var paper = new Paper(w, h, tone, rng);
        int height = (int)(Math.Min(w, h) * rng.Uniform(0.2f, 0.42f));
        var glyph = shape(height, c == Condition.ThinPen ? Math.Max(3, height * rng.Uniform(0.012f, 0.025f)) : 0);

        if (c == Condition.Ruled) Ruled(paper, height, rng);
        if (c == Condition.Squared) Squared(paper, height, rng);

        float angle = rng.Uniform(-8, 8);
        float cx = w * rng.Uniform(0.3f, 0.7f), cy = h * rng.Uniform(0.3f, 0.7f);
        if (c == Condition.Edge)
        {
            // The digit's box reaches the edge or is cut by up to 4% of its size.
            float hw = glyph.Width / 2f, hh = glyph.Height / 2f, cut = rng.Uniform(-0.01f, 0.04f);
            switch (rng.NextInt(4))
            {
                case 0: cx = hw * (1 - cut); break;
                case 1: cx = w - hw * (1 - cut); break;
                case 2: cy = hh * (1 - cut); break;
                default: cy = h - hh * (1 - cut); break;
            }
            angle = 0;
        }
        var box = paper.Ink(glyph, cx, cy, angle, ink, rng.Uniform(0.85f, 1f));
        float bw = box.X1 - box.X0, bh = box.Y1 - box.Y0, bx = (box.X0 + box.X1) / 2, by = (box.Y0 + box.Y1) / 2;

        if (c == Condition.Line)
        {
            // A pen line as thick as the strokes, or a thin printed rule; mostly near horizontal.
            bool pen = rng.NextInt(2) == 0;
            float a = rng.NextInt(10) < 7 ? rng.Uniform(-30, 30) : rng.Uniform(-90, 90);
            float rad = a * MathF.PI / 180, ux = MathF.Cos(rad), uy = MathF.Sin(rad);
            float px = bx + bw * rng.Uniform(-0.25f, 0.25f), py = by + bh * rng.Uniform(-0.25f, 0.25f);
            float size = Math.Max(bw, bh);
            float before = pen ? size * rng.Uniform(0.8f, 2.5f) : 3000, after = pen ? size * rng.Uniform(0.8f, 2.5f) : 3000;
            float width = pen ? height * rng.Uniform(0.05f, 0.11f) : rng.Uniform(2, 5);
            paper.Line(px - ux * before, py - uy * before, px + ux * after, py + uy * after, width, pen ? ink : Colour.Grey(rng.Uniform(0.05f, 0.25f)));
        }

        // Everyday light: a gentle fall-off across the page.
        float gx = rng.Uniform(-0.3f, 0.3f), gy = rng.Uniform(-0.3f, 0.3f);
        Func<float, float, float> ambient = (x, y) => 0.95f + gx * (x / w - 0.5f) + gy * (y / h - 0.5f);
        var light = c switch
        {
            Condition.SoftShadow => Shadow(rng.Uniform(0.5f, 0.7f), Math.Min(w, h) * rng.Uniform(0.03f, 0.08f)),
            Condition.LightShadow => Shadow(rng.Uniform(0.7f, 0.8f), rng.Uniform(0.5f, 2.5f)),
            Condition.HardShadow => Shadow(rng.Uniform(0.3f, 0.45f), rng.Uniform(0.5f, 2.5f)),
            Condition.Gradient => Gradient(),
            _ => ambient,
        };
        paper.Light(light);
        return paper.Jpeg(rng, rng.Uniform(2, 5), 75 + rng.NextInt(18));

        Func<float, float, float> Shadow(float level, float softness)
        {
            // An edge through the digit's middle, the shadow on one side of it, sometimes a corner of two edges.
            float a = rng.Uniform(0, MathF.PI), nx = MathF.Cos(a), ny = MathF.Sin(a);
            float ox = bx + bw * rng.Uniform(-0.3f, 0.3f), oy = by + bh * rng.Uniform(-0.3f, 0.3f);
            bool corner = rng.NextInt(3) == 0;
            float a2 = a + rng.Uniform(0.5f, 1.2f) * (rng.NextInt(2) == 0 ? 1 : -1), mx = MathF.Cos(a2), my = MathF.Sin(a2);
            return (x, y) =>
            {
                float d = (x - ox) * nx + (y - oy) * ny;
                if (corner) d = Math.Min(d, (x - ox) * mx + (y - oy) * my + bw * 0.3f);
                float t = Math.Clamp(0.5f + d / (2 * softness), 0, 1);
                t = t * t * (3 - 2 * t);
                return ambient(x, y) * (1 - t * (1 - level));
            };
        }

        Func<float, float, float> Gradient()
        {
            float low = rng.Uniform(0.2f, 0.35f);
            int kind = rng.NextInt(3);
            if (kind == 2)
            {
                // A lamp beside the page: bright near it, falling off with the square of the distance towards `low`.
                float lx = bx + (rng.NextInt(2) == 0 ? -1 : 1) * bw * rng.Uniform(0.5f, 1.5f), ly = by + bh * rng.Uniform(-1, 1);
                float near = Math.Max(bw, bh) * rng.Uniform(0.4f, 0.8f);
                return (x, y) => low + (1 - low) / (1 + ((x - lx) * (x - lx) + (y - ly) * (y - ly)) / (near * near));
            }
            // A ramp: across the whole page, or steep across the digit itself.
            float a = rng.Uniform(0, 2 * MathF.PI), ux = MathF.Cos(a), uy = MathF.Sin(a);
            float span = kind == 0 ? MathF.Abs(ux) * w + MathF.Abs(uy) * h : Math.Max(bw, bh) * rng.Uniform(1.2f, 2f);
            return (x, y) =>
            {
                float t = Math.Clamp(0.5f + ((x - bx) * ux + (y - by) * uy) / span, 0, 1);
                return 1 - t * (1 - low);
            };
        }
    }

    static void Ruled(Paper paper, int height, Rng rng)
    {
        float spacing = height * rng.Uniform(0.3f, 0.55f), tilt = rng.Uniform(-0.03f, 0.03f), width = rng.Uniform(1.5f, 4f);
        var colour = new Colour(0.55f, 0.7f, 0.95f);
        float opacity = rng.Uniform(0.5f, 0.9f);
        for (float y = rng.Uniform(0, spacing); y < paper.Height + paper.Width * 0.05f; y += spacing)
            paper.Line(0, y, paper.Width, y + tilt * paper.Width, width, colour, opacity);
        if (rng.NextInt(2) == 0)
        {
            float x = paper.Width * rng.Uniform(0.05f, 0.2f);
            paper.Line(x, 0, x, paper.Height, width, new Colour(0.95f, 0.45f, 0.45f), opacity);
        }
    }

    static void Squared(Paper paper, int height, Rng rng)
    {
        float spacing = height * rng.Uniform(0.2f, 0.4f), width = rng.Uniform(1f, 3f), opacity = rng.Uniform(0.4f, 0.8f);
        var colour = rng.NextInt(2) == 0 ? new Colour(0.6f, 0.72f, 0.92f) : Colour.Grey(0.65f);
        for (float y = rng.Uniform(0, spacing); y < paper.Height; y += spacing) paper.Line(0, y, paper.Width, y, width, colour, opacity);
        for (float x = rng.Uniform(0, spacing); x < paper.Width; x += spacing) paper.Line(x, 0, x, paper.Height, width, colour, opacity);
    }

    Sample NumberPhoto(Condition c, int index, Rng rng)
    {
        int digits = 2 + index % 3;
        int w = 1400 + rng.NextInt(800), h = 900 + rng.NextInt(600);
        int height = (int)(Math.Min(h * 0.4f, w * 0.75f / (digits * 0.8f)) * rng.Uniform(0.7f, 1f));
        var glyphs = new List<Glyph>();
        var label = "";
        for (int d = 0; d < digits; d++)
        {
            int i = (int)(Rng.SeedFor(seed, 77, (ulong)(index * 10 + d)) % (ulong)test.Count);
            label += test.Labels[i];
            glyphs.Add(Glyph.FromMnist(test.Image(i), (int)(height * rng.Uniform(0.9f, 1.1f))));
        }
        // Gaps from a slight overlap (touching digits) to a third of a digit's height.
        var gaps = Enumerable.Range(0, digits - 1).Select(_ => (int)(height * rng.Uniform(-0.03f, 0.3f))).ToList();
        var lifts = Enumerable.Range(0, digits).Select(_ => (int)(height * rng.Uniform(-0.05f, 0.05f))).ToList();
        var row = Glyph.Row(glyphs, gaps, lifts);
        var paper = new Paper(w, h, new Colour(rng.Uniform(0.86f, 0.97f), rng.Uniform(0.85f, 0.96f), rng.Uniform(0.8f, 0.94f)), rng);
        paper.Ink(row, w * rng.Uniform(0.4f, 0.6f), h * rng.Uniform(0.35f, 0.65f), rng.Uniform(-5, 5), Pens[rng.NextInt(Pens.Length)], rng.Uniform(0.85f, 1f));
        float gx = rng.Uniform(-0.3f, 0.3f), gy = rng.Uniform(-0.3f, 0.3f);
        paper.Light((x, y) => 0.95f + gx * (x / w - 0.5f) + gy * (y / h - 0.5f));
        return new Sample(c, index, label, "mnist", paper.Jpeg(rng, rng.Uniform(2, 5), 75 + rng.NextInt(18)), ".jpg");
    }

    /// <summary>A light stroke drawn with a round brush on a dark 280x280 canvas, as drawing apps save it.</summary>
    static byte[] CanvasDrawing(Func<int, float, Glyph> shape, Rng rng)
    {
        const int side = 280;
        int height = 110 + rng.NextInt(120);
        var glyph = shape(height, rng.Uniform(14, 26));
        float background = rng.NextInt(3) == 0 ? rng.Uniform(0.05f, 0.15f) : 0, ink = rng.Uniform(0.9f, 1f);
        float cx = side / 2f + rng.Uniform(-1, 1) * Math.Max(0, (side - glyph.Width) / 2f - 4);
        float cy = side / 2f + rng.Uniform(-1, 1) * Math.Max(0, (side - glyph.Height) / 2f - 4);
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var px = bitmap.GetPixelSpan();
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                float a = glyph.Sample(x - cx + glyph.Width / 2f, y - cy + glyph.Height / 2f);
                byte v = (byte)Math.Clamp((background + a * (ink - background)) * 255 + 0.5f, 0, 255);
                int i = 4 * (y * side + x);
                px[i] = px[i + 1] = px[i + 2] = v; px[i + 3] = 255;
            }
        using var image = SKImage.FromBitmap(bitmap);
        return image.Encode(SKEncodedImageFormat.Png, 100).ToArray();
    }

    /// <summary>
    /// An 8x8 digit made the way UCI's optical digits were (a 32x32 bitmap, ink counted in 4x4 blocks
    /// to 0–16), upscaled to 64x64 by nearest or bilinear sampling, dark-on-light or light-on-dark.
    /// </summary>
    static byte[] OptDigit(ReadOnlySpan<byte> digit28, Rng rng)
    {
        var (x0, y0, x1, y1) = Glyph.InkBox(digit28);
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1, side = Math.Max(bw, bh);
        var bits = new bool[32 * 32];
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
            {
                // Fit the digit's box into 32x32 keeping its aspect ratio, centred.
                float sx = x0 + (x + 0.5f) * side / 32f - (side - bw) / 2f, sy = y0 + (y + 0.5f) * side / 32f - (side - bh) / 2f;
                int ix = (int)sx, iy = (int)sy;
                bits[y * 32 + x] = ix >= 0 && iy >= 0 && ix < 28 && iy < 28 && digit28[iy * 28 + ix] >= 128;
            }
        var counts = new float[64];
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) if (bits[y * 32 + x]) counts[y / 4 * 8 + x / 4]++;
        bool light = rng.NextInt(2) == 0, nearest = rng.NextInt(2) == 0;
        using var small = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Gray8, SKAlphaType.Opaque));
        var s = small.GetPixelSpan();
        for (int i = 0; i < 64; i++) s[i] = (byte)MathF.Round(255 * (light ? counts[i] / 16 : 1 - counts[i] / 16));
        using var big = small.Resize(new SKImageInfo(64, 64, SKColorType.Gray8, SKAlphaType.Opaque),
            nearest ? new SKSamplingOptions(SKFilterMode.Nearest) : new SKSamplingOptions(SKFilterMode.Linear));
        using var image = SKImage.FromBitmap(big);
        return image.Encode(SKEncodedImageFormat.Png, 100).ToArray();
    }
}
