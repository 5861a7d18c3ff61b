// Image grids composed with SkiaSharp: feature maps of every layer, convolution kernels (diverging
// colours centred on zero), the misclassified digits, the 1998 RBF bitmaps.
using LeNet.Layers;
using LeNet.Models;
using SkiaSharp;

namespace LeNet.Reports;

public sealed record Mistake(int Index, int Truth, int Guess, int Second, float Confidence);

public static class Pictures
{
    const int Margin = 16, TitleHeight = 34, Gap = 4;
    static readonly SKColor Background = SKColors.White, Ink = new(0x22, 0x25, 0x2e), Muted = new(0x6a, 0x70, 0x80);

    static SKFont Font(float size, bool bold = false) =>
        new(SKTypeface.FromFamilyName("DejaVu Sans", bold ? SKFontStyle.Bold : SKFontStyle.Normal), size);

    static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static void Title(SKCanvas canvas, string title, float y = 24)
    {
        using var font = Font(18, bold: true);
        using var paint = new SKPaint { Color = Ink, IsAntialias = true };
        canvas.DrawText(title, Margin, y, SKTextAlign.Left, font, paint);
    }

    static void Text(SKCanvas canvas, string text, float x, float y, float size = 13, SKColor? color = null, SKTextAlign align = SKTextAlign.Left)
    {
        using var font = Font(size);
        using var paint = new SKPaint { Color = color ?? Ink, IsAntialias = true };
        canvas.DrawText(text, x, y, align, font, paint);
    }

    /// <summary>Blue (negative), white (zero), red (positive); t in [-1, 1].</summary>
    public static SKColor Diverging(float t)
    {
        t = Math.Clamp(t, -1, 1);
        (byte r, byte g, byte b) end = t < 0 ? ((byte)33, (byte)102, (byte)172) : ((byte)178, (byte)24, (byte)43);
        float a = Math.Abs(t);
        return new SKColor((byte)(247 + (end.r - 247) * a), (byte)(247 + (end.g - 247) * a), (byte)(247 + (end.b - 247) * a));
    }

    static void DrawGray(SKCanvas canvas, ReadOnlySpan<float> values, int w, int h, float lo, float hi, float x, float y, float scale)
    {
        using var paint = new SKPaint();
        float range = hi > lo ? hi - lo : 1;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
            {
                byte q = (byte)Math.Clamp((values[r * w + c] - lo) / range * 255, 0, 255);
                paint.Color = new SKColor(q, q, q);
                canvas.DrawRect(x + c * scale, y + r * scale, scale, scale, paint);
            }
    }

    /// <summary>The input and every layer's output for one digit: a row per layer, maps in grey (bright = high, scaled per layer), 1x1 layers as a strip of diverging cells.</summary>
    public static byte[] FeatureMaps(Network network, NetworkTrace trace, string title)
    {
        const int width = 1100, labelWidth = 150;
        var rows = new List<(string Label, float[] Values, Shape Shape)> { ("input", trace.Input, network.InputShape) };
        for (int i = 0; i < network.Layers.Count; i++)
        {
            var l = network.Layers[i];
            rows.Add(($"{l.Name} {l.Kind}", trace.LayerOutputs[i], l.OutputShape));
        }
        // Lay out first, then draw.
        var layout = new List<(float Y, float Scale, int PerRow, float RowHeight)>();
        float y = TitleHeight + Margin;
        foreach (var (_, _, s) in rows)
        {
            float avail = width - labelWidth - 2 * Margin;
            if (s.H * s.W > 1)
            {
                float scale = Math.Max(2, MathF.Floor(84f / s.H));
                int perRow = Math.Max(1, (int)((avail + Gap) / (s.W * scale + Gap)));
                int lines = (s.C + perRow - 1) / perRow;
                layout.Add((y, scale, perRow, lines * (s.H * scale + Gap)));
            }
            else
            {
                int n = s.C;
                float cell = Math.Min(18, MathF.Floor((avail + 1) / Math.Min(n, 40)) - 1);
                int perRow = Math.Max(1, (int)((avail + 1) / (cell + 1)));
                int lines = (n + perRow - 1) / perRow;
                layout.Add((y, cell, perRow, lines * (cell + 1)));
            }
            y += layout[^1].RowHeight + 14;
        }
        int height = (int)y + Margin;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(Background);
        Title(canvas, title);
        using var cellPaint = new SKPaint();
        for (int i = 0; i < rows.Count; i++)
        {
            var (label, values, s) = rows[i];
            var (top, scale, perRow, _) = layout[i];
            Text(canvas, label.Split(' ')[0], Margin, top + 16, 14);
            Text(canvas, s.H * s.W > 1 ? $"{s.C} x {s.H}x{s.W}" : $"{s.C} units", Margin, top + 34, 12, Muted);
            float lo = values.Min(), hi = values.Max();
            if (s.H * s.W > 1)
            {
                int hw = s.H * s.W;
                for (int m = 0; m < s.C; m++)
                {
                    float x = Margin + labelWidth + (m % perRow) * (s.W * scale + Gap);
                    float yy = top + (m / perRow) * (s.H * scale + Gap);
                    DrawGray(canvas, values.AsSpan(m * hw, hw), s.W, s.H, lo, hi, x, yy, scale);
                }
            }
            else
            {
                float m = Math.Max(Math.Abs(lo), Math.Abs(hi));
                for (int u = 0; u < s.C; u++)
                {
                    cellPaint.Color = Diverging(m > 0 ? values[u] / m : 0);
                    canvas.DrawRect(Margin + labelWidth + (u % perRow) * (scale + 1), top + (u / perRow) * (scale + 1), scale, scale, cellPaint);
                }
            }
        }
        return Encode(surface);
    }

    /// <summary>
    /// Every kernel of a convolution layer as a heatmap (blue negative, white zero, red positive, one
    /// scale for the layer): a row per output map and a column per input map, or the transpose when
    /// there are many output maps. Pairs a connection table leaves out are drawn hatched.
    /// </summary>
    public static byte[] Kernels(Network network, Conv2d conv, string title)
    {
        var p = network.ParametersOf(conv);
        int cout = conv.OutputShape.C, cin = conv.InputShape.C, k = conv.KernelSize;
        bool transpose = cout > 32;
        int rows = transpose ? cin : cout, cols = transpose ? cout : cin;
        float px = Math.Clamp(MathF.Floor(1600f / (cols * k)), 2, 10);
        float cell = k * px, gap = px >= 6 ? 4 : 2;
        float m = 0;
        for (int i = 0; i < conv.ParameterCount - cout; i++) m = Math.Max(m, Math.Abs(p[i]));
        const int left = 90, legendHeight = 50;
        int width = (int)Math.Max(520, left + cols * (cell + gap) + Margin);
        int height = (int)(TitleHeight + 30 + rows * (cell + gap) + legendHeight + Margin);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(Background);
        Title(canvas, title);
        Text(canvas, transpose ? "columns: output maps · rows: input maps" : "rows: output maps · columns: input maps", Margin, TitleHeight + 14, 12, Muted);
        float top = TitleHeight + 26;
        using var paint = new SKPaint();
        using var hatch = new SKPaint { Color = new SKColor(0xcc, 0xcc, 0xcc), StrokeWidth = 1, IsAntialias = true };
        for (int r = 0; r < rows; r++)
        {
            if (rows <= 40 || r % 5 == 0) Text(canvas, $"{(transpose ? "in" : "out")} {r}", Margin, top + r * (cell + gap) + cell / 2 + 4, 11, Muted);
            for (int c = 0; c < cols; c++)
            {
                int co = transpose ? c : r, ci = transpose ? r : c;
                float x = left + c * (cell + gap), y = top + r * (cell + gap);
                var w = conv.Kernel(p, co, ci);
                if (w.IsEmpty)
                {
                    for (float d = 0; d < 2 * cell; d += 5) canvas.DrawLine(x + Math.Max(0, d - cell), y + Math.Min(d, cell), x + Math.Min(d, cell), y + Math.Max(0, d - cell), hatch);
                    continue;
                }
                for (int i = 0; i < k * k; i++)
                {
                    paint.Color = Diverging(m > 0 ? w[i] / m : 0);
                    canvas.DrawRect(x + i % k * px, y + i / k * px, px, px, paint);
                }
            }
        }
        // Colour bar.
        float by = height - legendHeight + 8, bx = left, bw = 240;
        for (int i = 0; i < bw; i++)
        {
            paint.Color = Diverging(i / (bw - 1) * 2 - 1);
            canvas.DrawRect(bx + i, by, 1, 12, paint);
        }
        Text(canvas, $"-{m:0.###}", bx, by + 28, 12, Muted, SKTextAlign.Center);
        Text(canvas, "0", bx + bw / 2, by + 28, 12, Muted, SKTextAlign.Center);
        Text(canvas, $"+{m:0.###}", bx + bw, by + 28, 12, Muted, SKTextAlign.Center);
        Text(canvas, "weight", bx + bw + 36, by + 11, 12, Muted);
        return Encode(surface);
    }

    /// <summary>Misclassified digits, a row per true digit, most confident mistakes first; each captioned "guess (confidence) / second guess".</summary>
    public static byte[] Gallery(IReadOnlyList<Mistake> mistakes, Func<int, byte[]> image, string title, int perRow = 16)
    {
        const int scale = 2, side = 28 * scale, captionHeight = 30, left = 92;
        int cellW = side + 12;
        int width = left + perRow * cellW + Margin;
        var groups = Enumerable.Range(0, 10).Select(d => mistakes.Where(x => x.Truth == d).ToList()).ToArray();
        int rowHeight = side + captionHeight + 8;
        int height = TitleHeight + 22 + groups.Count(g => g.Count > 0) * rowHeight + Margin + (mistakes.Count == 0 ? 30 : 0);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(Background);
        Title(canvas, title);
        Text(canvas, "under each digit: guess (confidence) and second guess", Margin, TitleHeight + 12, 12, Muted);
        if (mistakes.Count == 0) Text(canvas, "No mistakes.", Margin, TitleHeight + 40, 14);
        float y = TitleHeight + 24;
        foreach (var group in groups.Where(g => g.Count > 0))
        {
            Text(canvas, $"{group[0].Truth}", Margin + 8, y + side / 2 + 8, 26);
            Text(canvas, $"{group.Count} wrong", Margin, y + side / 2 + 26, 11, Muted);
            for (int i = 0; i < Math.Min(group.Count, perRow); i++)
            {
                var x = left + i * cellW;
                var mk = group[i];
                if (i == perRow - 1 && group.Count > perRow)
                {
                    Text(canvas, $"+{group.Count - perRow + 1} more", x + 2, y + side / 2, 12, Muted);
                    break;
                }
                var pixels = image(mk.Index);
                var f = new float[784];
                for (int j = 0; j < 784; j++) f[j] = 255 - pixels[j];
                DrawGray(canvas, f, 28, 28, 0, 255, x, y, scale);
                Text(canvas, $"{mk.Guess} ({mk.Confidence * 100:F0}%)", x + side / 2, y + side + 13, 12, new SKColor(0xc6, 0x28, 0x28), SKTextAlign.Center);
                Text(canvas, $"2nd: {mk.Second}", x + side / 2, y + side + 26, 11, Muted, SKTextAlign.Center);
            }
            y += rowHeight;
        }
        return Encode(surface);
    }

    /// <summary>The ten 7x12 bitmaps that are the RBF centres of lenet5-1998 (+1 black, -1 white).</summary>
    public static byte[] RbfBitmaps()
    {
        const int scale = 10, w = RbfOutput.BitmapWidth * scale, h = RbfOutput.BitmapHeight * scale, gap = 18;
        int width = 2 * Margin + 10 * (w + gap), height = TitleHeight + h + 40 + Margin;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(Background);
        Title(canvas, "RBF centres: the 7x12 digit bitmaps of the output layer");
        var centres = RbfOutput.Centres;
        using var paint = new SKPaint();
        for (int d = 0; d < 10; d++)
        {
            float x = Margin + d * (w + gap), y = TitleHeight + 8;
            for (int i = 0; i < RbfOutput.Units; i++)
            {
                paint.Color = centres[d * RbfOutput.Units + i] > 0 ? Ink : new SKColor(0xee, 0xee, 0xee);
                canvas.DrawRect(x + i % RbfOutput.BitmapWidth * scale, y + i / RbfOutput.BitmapWidth * scale, scale - 1, scale - 1, paint);
            }
            Text(canvas, d.ToString(), x + w / 2, y + h + 22, 15, Ink, SKTextAlign.Center);
        }
        return Encode(surface);
    }
}
