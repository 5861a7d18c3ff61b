using LeNet.Data;
using LeNet.Models;
using Xunit;

namespace LeNet.Tests.Data;

/// <summary>The stages of the photo pipeline, each against what it must do on small made-up images.</summary>
public class PhotoPipelineTests
{
    static GrayImage Paper(int w, int h, float tone = 0.9f)
    {
        var g = new GrayImage(w, h);
        Array.Fill(g.Pixels, tone);
        return g;
    }

    static void Rect(GrayImage g, int x0, int y0, int x1, int y1, float v)
    {
        for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) g[x, y] = v;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(19)]
    public void Min_and_max_filters_match_the_plain_loops(int r)
    {
        var rng = new Rng(3);
        var g = new GrayImage(37, 23);
        for (int i = 0; i < g.Pixels.Length; i++) g.Pixels[i] = rng.NextFloat();
        foreach (bool max in new[] { true, false })
        {
            var f = Morphology.Filter(g, r, max);
            for (int y = 0; y < g.Height; y++)
                for (int x = 0; x < g.Width; x++)
                {
                    float m = max ? float.MinValue : float.MaxValue;
                    for (int dy = -r; dy <= r; dy++)
                        for (int dx = -r; dx <= r; dx++)
                        {
                            float v = g[Math.Clamp(x + dx, 0, g.Width - 1), Math.Clamp(y + dy, 0, g.Height - 1)];
                            m = max ? Math.Max(m, v) : Math.Min(m, v);
                        }
                    Assert.Equal(m, f[x, y]);
                }
        }
    }

    [Fact]
    public void A_hard_shadow_is_not_ink_but_a_stroke_inside_it_is()
    {
        // Paper at 0.9, its left half in a shadow at 35%, a dark bar in the shadow and one in the light.
        var g = Paper(200, 120);
        for (int y = 0; y < 120; y++) for (int x = 0; x < 100; x++) g[x, y] *= 0.35f;
        Rect(g, 40, 30, 46, 90, 0.9f * 0.35f * 0.1f);
        Rect(g, 150, 30, 156, 90, 0.09f);
        var map = InkMaps.Find(g);
        Assert.False(map.LightInk);
        for (int y = 0; y < 120; y++)
        {
            Assert.True(map.Ink[99, y] < 0.1f && map.Ink[100, y] < 0.1f, $"the shadow's edge reads as ink at y = {y}");
            if (y is >= 32 and < 88) Assert.True(map.Ink[42, y] > 0.8f && map.Ink[152, y] > 0.8f);
        }
    }

    [Fact]
    public void Light_strokes_on_a_dark_canvas_are_ink()
    {
        var g = Paper(120, 120, 0.05f);
        Rect(g, 50, 20, 62, 100, 1f);
        var map = InkMaps.Find(g);
        Assert.True(map.LightInk);
        Assert.True(map.Ink[55, 60] > 0.9f);
        Assert.True(map.Ink[10, 60] < 0.05f);
    }

    [Fact]
    public void Ruled_lines_are_removed_but_a_digit_s_own_straight_stroke_is_not()
    {
        int w = 300, h = 200;
        var mask = new bool[w * h];
        void Bar(int x0, int y0, int x1, int y1) { for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) mask[y * w + x] = true; }
        for (int y = 30; y < h; y += 40) Bar(0, y, w, y + 2);      // ruled lines across the page
        Bar(140, 50, 146, 140);                                    // a 1's stem crossing them
        Bar(120, 60, 140, 66);                                     // and its flag
        var ink = new GrayImage(w, h);
        for (int i = 0; i < mask.Length; i++) ink.Pixels[i] = mask[i] ? 1 : 0;
        var lines = Lines.Remove(mask, ink);
        Assert.Equal(5, lines.Count);
        Assert.All(lines, l => Assert.InRange(l.Angle, 89, 91));
        for (int y = 50; y < 140; y++) Assert.True(mask[y * w + 143], $"the stem lost its pixel at y = {y}");
        Assert.False(mask[110 * w + 20]);
        var regions = Segmenter.Find(mask, w, h);
        Assert.Single(regions);
    }

    static void Segment(bool[] mask, int w, float x0, float y0, float x1, float y1, float width)
    {
        // Every pixel within width/2 of the segment.
        int h = mask.Length / w;
        float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float t = Math.Clamp(((x - x0) * dx + (y - y0) * dy) / len2, 0, 1);
                float ex = x - (x0 + t * dx), ey = y - (y0 + t * dy);
                if (ex * ex + ey * ey <= width * width / 4) mask[y * w + x] = true;
            }
    }

    static GrayImage InkOf(bool[] mask, int w)
    {
        var ink = new GrayImage(w, mask.Length / w);
        for (int i = 0; i < mask.Length; i++) ink.Pixels[i] = mask[i] ? 1 : 0;
        return ink;
    }

    [Fact]
    public void A_4_s_long_diagonal_stays_but_a_pen_line_across_a_digit_goes()
    {
        // A 4 as drawn on a canvas: its long diagonal runs well past the small bar-and-stem the rest of
        // the 4 is, but all of that rest hangs off one side of it.
        int w = 280, h = 280;
        var four = new bool[w * h];
        Segment(four, w, 170, 20, 80, 260, 18);    // the diagonal
        Segment(four, w, 70, 60, 60, 140, 18);     // the left stem
        Segment(four, w, 60, 140, 135, 130, 18);   // the bar, ending at the diagonal
        int inked = four.Count(b => b);
        Assert.Empty(Lines.Remove(four, InkOf(four, w)));
        Assert.Equal(inked, four.Count(b => b));

        // A 0 with a pen line of the same width drawn through it: digit on both sides of the line.
        var zero = new bool[w * h];
        for (int a = 0; a < 360; a += 2)
        {
            float r0 = a * MathF.PI / 180, r1 = (a + 2) * MathF.PI / 180;
            Segment(zero, w, 140 + 30 * MathF.Cos(r0), 140 + 45 * MathF.Sin(r0), 140 + 30 * MathF.Cos(r1), 140 + 45 * MathF.Sin(r1), 12);
        }
        Segment(zero, w, 10, 110, 270, 170, 12);
        var lines = Lines.Remove(zero, InkOf(zero, w));
        Assert.Single(lines);
        Assert.False(zero[(112 * w) + 20], "the line's pixels outside the digit are gone");
        Assert.True(zero[(150 * w) + 110] && zero[(150 * w) + 170], "the 0's sides stay");
    }

    [Fact]
    public void What_is_left_of_a_faint_ruled_line_beside_a_thick_digit_goes()
    {
        // Hysteresis grows a faint ruled line from the thick stroke it touches: a 1 px piece 60 px long.
        int w = 200, h = 150;
        var mask = new bool[w * h];
        Segment(mask, w, 100, 20, 100, 130, 14);   // a thick 1
        for (int x = 40; x < 100; x++) mask[70 * w + x] = true;
        var ink = InkOf(mask, w);
        int removed = Lines.RemoveSpurs(mask, ink, strokeWidth: 14);
        Assert.InRange(removed, 50, 60);
        Assert.False(mask[70 * w + 60]);
        Assert.Equal(0, ink[60, 70]);
        for (int y = 22; y < 128; y++) Assert.True(mask[y * w + 100], $"the 1 lost its pixel at y = {y}");
        // With strokes as thin as the piece (a ballpoint), nothing is taken.
        var thin = new bool[w * h];
        for (int x = 40; x < 160; x++) thin[70 * w + x] = true;
        Assert.Equal(0, Lines.RemoveSpurs(thin, InkOf(thin, w), strokeWidth: 2));
    }

    [Fact]
    public void Pieces_of_one_digit_join_and_digits_side_by_side_stay_apart()
    {
        int w = 200, h = 100;
        var mask = new bool[w * h];
        void Bar(int x0, int y0, int x1, int y1) { for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) mask[y * w + x] = true; }
        Bar(20, 20, 50, 25);    // a 5's bar, written apart from
        Bar(20, 27, 25, 50);    // its body
        Bar(20, 50, 50, 80);
        Bar(110, 20, 115, 80);  // a 1
        Bar(150, 20, 180, 80);  // an 8's worth of ink
        var regions = Segmenter.Find(mask, w, h);
        Assert.Equal(3, regions.Count);
        Assert.Equal(new PixelBox(20, 20, 30, 60), regions[0].Box);
        Assert.True(regions[0].Box.X < regions[1].Box.X && regions[1].Box.X < regions[2].Box.X);
    }

    [Fact]
    public void Temperature_scaling_recovers_the_temperature_that_made_the_probabilities()
    {
        // Labels drawn from softmax(z); the model claims softmax(3z): over-confident by T = 3.
        var rng = new Rng(9);
        int n = 4000;
        var p = new float[n * 10];
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, 10).Select(_ => 2.5 * rng.Gaussian()).ToArray();
            double sum = z.Sum(v => Math.Exp(v)), u = rng.NextFloat() * sum, acc = 0;
            labels[i] = 9;
            for (int k = 0; k < 10; k++) if ((acc += Math.Exp(z[k])) >= u) { labels[i] = (byte)k; break; }
            double s3 = z.Sum(v => Math.Exp(3 * v));
            for (int k = 0; k < 10; k++) p[i * 10 + k] = (float)(Math.Exp(3 * z[k]) / s3);
        }
        float t = Calibration.FitTemperature(p, labels);
        Assert.InRange(t, 2.6f, 3.4f);
        var scaled = (float[])p.Clone();
        var c = new Calibration(t, 0.8f, "test", 0, 0);
        for (int i = 0; i < n; i++) c.Apply(scaled.AsSpan(i * 10, 10));
        Assert.True(Calibration.ExpectedCalibrationError(scaled, labels) < Calibration.ExpectedCalibrationError(p, labels) / 2);
        for (int i = 0; i < 50; i++)
            Assert.Equal(Array.IndexOf(p, p.AsSpan(i * 10, 10).ToArray().Max(), i * 10) - i * 10, Array.IndexOf(scaled, scaled.AsSpan(i * 10, 10).ToArray().Max(), i * 10) - i * 10);
    }

    [Fact]
    public void Shipped_models_carry_a_calibration_fitted_on_held_out_images()
    {
        // cnn-bn trained on all 60,000 training images: none were left to fit its calibration on.
        foreach (var name in PretrainedModels.Names.Where(n => n != Architectures.CnnBn))
        {
            var c = PretrainedModels.Load(name).Calibration;
            Assert.NotSame(Calibration.None, c);
            Assert.InRange(c.Temperature, 1f, 20f);
            Assert.InRange(c.UnsureBelow, 0.3f, 1f);
            // Calibrated: on the held-out digits, confidence and accuracy agree to within 1% on
            // average (the temperature minimises their log-loss; their ECE, from about 30 errors in
            // 5,000, is too noisy to have to fall as well).
            Assert.InRange(c.EceAfter, 0, 0.01);
            Assert.Contains("train[55000..]", c.Data);
        }
        Assert.Null(Calibration.FromMetadata(new System.Text.Json.Nodes.JsonObject { ["calibration"] = new System.Text.Json.Nodes.JsonObject { ["temperature"] = -1 } }));
    }
}
