// Stage 3 of the photo pipeline: long straight strokes that are not part of a digit (ruled lines, a
// printed rule, a pen line drawn across) are found and taken out of the ink before digits are boxed.
// Candidates come from a Hough transform of the ink mask (every ink pixel votes for the lines through
// it, 0.5° by 2 px); each strong candidate is walked along to measure its thickness and the extent of
// its straight run. It is a line, not a stroke, when the rest of the ink is substantial, the run is
// at least twice as long as the rest is big and it reaches past the rest on both sides (a 1's stem, a
// 7's bar or a 9's stem is about as long as the digit it belongs to, and ends at it), and when the
// digit lies on both sides of it or it runs from edge to edge (a 4's long diagonal has its digit on one
// side). Where a digit's stroke crosses the line (ink on both sides), the crossing is kept.
namespace LeNet.Data;

public readonly record struct StraightLine(float Angle, float Rho, float Thickness, float Start, float End);

public static class Lines
{
    const int Angles = 360;   // 0.5° steps over 180°
    const float RhoStep = 2;

    /// <summary>
    /// Removes long straight lines from the mask and the ink (in place); returns the lines removed.
    /// Lines are looked for in <paramref name="faint"/> (ink above a lower threshold, where a light
    /// ruled line is whole rather than the pieces of it the mask holds near a digit), or in the mask
    /// itself when it is null.
    /// </summary>
    public static List<StraightLine> Remove(bool[] mask, GrayImage ink, bool[]? faint = null, int maxLines = 24)
    {
        faint ??= mask;
        int w = ink.Width, h = ink.Height;
        var removed = new List<StraightLine>();
        int minLength = (int)(0.3f * Math.Min(w, h));
        if (minLength < 12) return removed;

        var cos = new float[Angles];
        var sin = new float[Angles];
        for (int a = 0; a < Angles; a++) { cos[a] = MathF.Cos(a * MathF.PI / Angles); sin[a] = MathF.Sin(a * MathF.PI / Angles); }
        float diagonal = MathF.Sqrt(w * w + h * h);
        int rhos = (int)(2 * diagonal / RhoStep) + 2;
        var votes = new int[Angles * rhos];
        void Vote(int x, int y)
        {
            for (int a = 0; a < Angles; a++)
                votes[a * rhos + (int)((x * cos[a] + y * sin[a] + diagonal) / RhoStep)] ++;
        }
        int inked = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (faint[y * w + x]) { Vote(x, y); inked++; }
        if (inked == 0) return removed;

        // Candidates: the strongest directions whose ink runs straight for long enough.
        var candidates = new List<(StraightLine Line, float Cos, float Sin)>();
        var done = new bool[votes.Length];
        for (int round = 0; round < 4 * maxLines; round++)
        {
            int best = -1;
            for (int i = 0; i < votes.Length; i++)
                if (!done[i] && votes[i] >= minLength && (best < 0 || votes[i] > votes[best])) best = i;
            if (best < 0) break;
            int angle = best / rhos;
            float rho = (best % rhos + 0.5f) * RhoStep - diagonal;
            if (Measure(faint, w, h, cos[angle], sin[angle], rho, angle * 180f / Angles) is { } l &&
                l.End - l.Start >= minLength && l.Thickness <= (l.End - l.Start) / 8 &&
                !candidates.Any(c => Same(c.Line, l)))
                candidates.Add((l, cos[angle], sin[angle]));
            for (int da = -4; da <= 4; da++)
                for (int dr = -4; dr <= 4; dr++)
                {
                    int a = (angle + da + Angles) % Angles, r = best % rhos + dr;
                    if (r >= 0 && r < rhos) done[a * rhos + r] = true;
                }
        }
        if (candidates.Count == 0) return removed;

        // A candidate is a line when the ink left without it, and without every candidate about as long
        // or longer (the other ruled lines), is substantial and at most half as big as the run is long:
        // a 4's or a 9's stem runs past the rest of the digit, but not twice its size.
        var bands = candidates.Select(c => Band(w, h, c.Line, c.Cos, c.Sin)).ToList();
        foreach (int i in Enumerable.Range(0, candidates.Count).OrderByDescending(i => candidates[i].Line.End - candidates[i].Line.Start))
        {
            var (l, c, s) = candidates[i];
            float length = l.End - l.Start;
            var others = Enumerable.Range(0, candidates.Count).Where(j => j != i && candidates[j].Line.End - candidates[j].Line.Start >= 0.9f * length).ToList();
            long own = 0;
            var along = new List<float>();
            var across = new List<float>();
            for (int p = 0; p < mask.Length; p++)
            {
                if (!mask[p]) continue;
                if (bands[i][p]) { own++; continue; }
                if (others.Any(j => bands[j][p])) continue;
                int x = p % w, y = p / w;
                along.Add(-x * s + y * c);
                across.Add(x * c + y * s);
            }
            if (along.Count < 0.3 * own || along.Count < 8) continue;
            var (a0, a1) = Range(along);
            var (c0, c1) = Range(across);
            float size = Math.Max(a1 - a0, c1 - c0);
            // Twice as long as the rest is big, and reaching past it on both sides (a 9's stem runs
            // past its loop on one side only).
            if (length < 2 * size || l.Start > a0 - 0.5f * size || l.End < a1 + 0.5f * size) continue;
            // A line drawn across a digit has digit on both sides; a straight stroke the rest hangs off
            // (a 4's long diagonal, an 8's tail) has it on one. Ruled lines run edge to edge and go even
            // where they only touch a digit's tip.
            float half = l.Thickness / 2 + 2;
            int side = across.Count(v => v > l.Rho + half), other = across.Count(v => v < l.Rho - half);
            if (Math.Min(side, other) < 0.04f * across.Count && !EdgeToEdge(l, c, s, w, h)) continue;
            Erase(mask, ink, l, c, s);
            removed.Add(l);
            if (removed.Count >= maxLines) break;
        }
        return removed;
    }

    /// <summary>
    /// Removes thin straight pieces hanging off thick strokes (in place): what is left of a light ruled
    /// line where it touches a digit, too short to be found as a line. A piece counts when the mask is at
    /// most 3 px thick there while strokes are at least twice as thick, and it runs straight for at least
    /// 2.5 stroke widths. Returns the number of pixels removed.
    /// </summary>
    public static int RemoveSpurs(bool[] mask, GrayImage ink, float strokeWidth)
    {
        if (strokeWidth < 6) return 0;
        int w = ink.Width, h = ink.Height;
        var image = new GrayImage(w, h);
        for (int p = 0; p < mask.Length; p++) image.Pixels[p] = mask[p] ? 1 : 0;
        var thick = Morphology.Open(image, Math.Max(1, (int)(strokeWidth / 4)));
        var thin = new bool[mask.Length];
        for (int p = 0; p < mask.Length; p++) thin[p] = mask[p] && thick.Pixels[p] == 0;
        int removed = 0;
        foreach (var piece in Segmenter.PixelPieces(thin, w, h))
        {
            if (piece.Count < 2.5f * strokeWidth || !ThinAndStraight(piece, w, 2.5f * strokeWidth)) continue;
            foreach (int p in piece) { mask[p] = false; ink.Pixels[p] = 0; }
            removed += piece.Count;
        }
        return removed;
    }

    /// <summary>True when the pixels lie along one straight line at least <paramref name="length"/> long and at most 3 px wide.</summary>
    static bool ThinAndStraight(List<int> piece, int w, float length)
    {
        double mx = 0, my = 0;
        foreach (int p in piece) { mx += p % w; my += p / w; }
        mx /= piece.Count; my /= piece.Count;
        double sxx = 0, syy = 0, sxy = 0;
        foreach (int p in piece)
        {
            double dx = p % w - mx, dy = p / w - my;
            sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
        }
        double angle = 0.5 * Math.Atan2(2 * sxy, sxx - syy), c = Math.Cos(angle), s = Math.Sin(angle);
        double a0 = double.MaxValue, a1 = double.MinValue, b0 = double.MaxValue, b1 = double.MinValue;
        foreach (int p in piece)
        {
            double dx = p % w - mx, dy = p / w - my, along = dx * c + dy * s, across = -dx * s + dy * c;
            a0 = Math.Min(a0, along); a1 = Math.Max(a1, along); b0 = Math.Min(b0, across); b1 = Math.Max(b1, across);
        }
        return a1 - a0 >= length && b1 - b0 <= 3;
    }

    /// <summary>True when both ends of the line's run are at the image's border.</summary>
    static bool EdgeToEdge(StraightLine l, float c, float s, int w, int h)
    {
        float margin = 0.03f * Math.Min(w, h) + 2;
        bool AtBorder(float t)
        {
            float x = l.Rho * c - t * s, y = l.Rho * s + t * c;
            return x <= margin || y <= margin || x >= w - 1 - margin || y >= h - 1 - margin;
        }
        return AtBorder(l.Start) && AtBorder(l.End);
    }

    static bool Same(StraightLine a, StraightLine b)
    {
        // (θ, ρ) and (θ ± 180°, −ρ) are the same line.
        float d = MathF.Abs(a.Angle - b.Angle), rho = b.Rho;
        if (d > 90) { d = 180 - d; rho = -rho; }
        return d < 3 && MathF.Abs(a.Rho - rho) < Math.Max(a.Thickness, b.Thickness) + 2;
    }

    /// <summary>The 2nd and 98th percentiles of the values (specks do not count).</summary>
    static (float Low, float High) Range(List<float> v)
    {
        v.Sort();
        return (v[(int)(0.02 * (v.Count - 1))], v[(int)(0.98 * (v.Count - 1))]);
    }

    /// <summary>The pixels within the line's band along its run.</summary>
    static bool[] Band(int w, int h, StraightLine l, float c, float s)
    {
        var band = new bool[w * h];
        float half = l.Thickness / 2 + 2;
        for (float t = l.Start - 2; t <= l.End + 2; t += 0.5f)
            for (float d = -half; d <= half; d += 0.5f)
            {
                int x = (int)MathF.Round((l.Rho + d) * c - t * s), y = (int)MathF.Round((l.Rho + d) * s + t * c);
                if (x >= 0 && y >= 0 && x < w && y < h) band[y * w + x] = true;
            }
        return band;
    }

    /// <summary>The line's thickness and its longest straight run of ink (gaps of a few pixels bridged), refined to the ink's centre.</summary>
    static StraightLine? Measure(bool[] mask, int w, int h, float c, float s, float rho, float degrees)
    {
        // Along the line: t; across it: the normal (c, s). Positions where the line is inside the image.
        float diagonal = MathF.Sqrt(w * w + h * h);
        const int reach = 12;
        var centres = new List<(float T, float Offset, int Width)>();
        float runStart = float.NaN, best0 = 0, best1 = -1, last = float.NaN;
        for (float t = -diagonal; t <= diagonal; t += 1)
        {
            float x0 = rho * c - t * s, y0 = rho * s + t * c;
            if (x0 < -1 || y0 < -1 || x0 > w || y0 > h) continue;
            // The run of ink across the line that holds the ink nearest to it (within 3 pixels).
            int seed = int.MaxValue;
            for (int k = 0; k <= 3 && seed == int.MaxValue; k++)
                if (Inked(mask, w, h, x0 + k * c, y0 + k * s)) seed = k;
                else if (Inked(mask, w, h, x0 - k * c, y0 - k * s)) seed = -k;
            if (seed == int.MaxValue) continue;
            int lo = seed, hi = seed;
            while (lo - 1 >= -reach && Inked(mask, w, h, x0 + (lo - 1) * c, y0 + (lo - 1) * s)) lo--;
            while (hi + 1 <= reach && Inked(mask, w, h, x0 + (hi + 1) * c, y0 + (hi + 1) * s)) hi++;
            centres.Add((t, (lo + hi) / 2f, hi - lo + 1));
            if (float.IsNaN(last) || t - last > 4) runStart = t;
            last = t;
            if (t - runStart > best1 - best0) { best0 = runStart; best1 = t; }
        }
        if (best1 < best0) return null;
        var run = centres.Where(p => p.T >= best0 && p.T <= best1).ToList();
        if (run.Count < 4) return null;
        // The line's own thickness is the usual width along it; crossings are wider.
        var widths = run.Select(p => p.Width).Order().ToList();
        float thickness = widths[widths.Count / 3];
        float offset = run.Where(p => p.Width <= thickness + 1).Select(p => p.Offset).DefaultIfEmpty(0).Average();
        return new StraightLine(degrees, rho + offset, thickness, best0, best1);
    }

    static bool Inked(bool[] mask, int w, int h, float fx, float fy)
    {
        int x = (int)MathF.Round(fx), y = (int)MathF.Round(fy);
        return x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x];
    }

    /// <summary>Clears the line's band from mask and ink, except where a stroke crosses it; returns the cleared pixels.</summary>
    static void Erase(bool[] mask, GrayImage ink, StraightLine l, float c, float s)
    {
        int w = ink.Width, h = ink.Height;
        float half = l.Thickness / 2 + 1.5f;
        int outside = (int)MathF.Ceiling(half) + 2;
        for (float t = l.Start - 2; t <= l.End + 2; t += 0.5f)
        {
            float x0 = l.Rho * c - t * s, y0 = l.Rho * s + t * c;
            // A stroke crosses here when there is ink just beyond both sides of the band.
            bool crossing = Inked(mask, w, h, x0 + outside * c, y0 + outside * s) && Inked(mask, w, h, x0 - outside * c, y0 - outside * s);
            if (crossing) continue;
            for (float d = -half; d <= half; d += 0.5f)
            {
                int x = (int)MathF.Round(x0 + d * c), y = (int)MathF.Round(y0 + d * s);
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                int p = y * w + x;
                ink.Pixels[p] = 0;
                mask[p] = false;
            }
        }
    }
}
