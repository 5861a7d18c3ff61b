// Stage 4 of the photo pipeline: the ink mask becomes digits, left to right. Connected pieces of ink
// are labelled; specks are dropped; pieces as tall as a digit are digits, and pieces that overlap one
// another across the row are one digit written in several strokes (a 5's bar, a 4 in two strokes);
// small pieces join the digit they overlap. A piece much wider than tall may be digits that touch:
// it carries the places where it could be cut (the thinnest columns of ink), and the reader decides
// with the network whether cutting reads better.
namespace LeNet.Data;

/// <summary>One digit's ink: its box in the working image and its pixels (indices into the working image).</summary>
public sealed record DigitRegion(PixelBox Box, int[] Pixels)
{
    /// <summary>Places to cut this region into 2 or 3 digits, best first (empty if it is not wide enough to hold two).</summary>
    public IReadOnlyList<DigitRegion[]> Splits { get; init; } = [];
}

public static class Segmenter
{
    public const int MaxDigits = 16;

    public static List<DigitRegion> Find(bool[] mask, int w, int h)
    {
        // Pieces are found on the mask with gaps of up to two pixels bridged (a stroke broken where a
        // shadow's edge crosses it stays one piece), but keep only the mask's own pixels.
        var comps = Components(Bridge(mask, w, h), w, h);
        foreach (var c in comps) c.Pixels.RemoveAll(p => !mask[p]);
        comps.RemoveAll(c => c.Pixels.Count == 0);
        if (comps.Count == 0) return [];
        int largest = comps.Max(c => c.Pixels.Count);
        // Specks: tiny next to the largest piece.
        comps.RemoveAll(c => c.Pixels.Count < Math.Max(4, 0.02 * largest) && Math.Max(c.Box.Width, c.Box.Height) < 0.25 * TallestOf(comps, largest));
        // Along the border, when there is other ink: page edges and rules spanning most of a side, and
        // solid patches (the tip of a shadow where it meets the border) rather than strokes.
        if (comps.Count > 1)
            comps.RemoveAll(c => c.Border && (c.Box.Width > 0.7 * w || c.Box.Height > 0.7 * h || c.Thickness > 0.3f * Math.Max(c.Box.Width, c.Box.Height) || CutPatch(c, w, h)));
        if (comps.Count == 0) return [];

        int tallest = TallestOf(comps, comps.Max(c => c.Pixels.Count));
        int big = comps.Max(c => c.Pixels.Count);
        var digits = comps.Where(c => c.Box.Height >= 0.6 * tallest || c.Pixels.Count >= 0.25 * big).ToList();
        var fragments = comps.Except(digits).ToList();

        // Pieces that overlap across the row are one digit.
        bool merged = true;
        while (merged)
        {
            merged = false;
            for (int i = 0; i < digits.Count && !merged; i++)
                for (int j = i + 1; j < digits.Count && !merged; j++)
                    if (OverlapX(digits[i].Box, digits[j].Box) >= 0.5 * Math.Min(digits[i].Box.Width, digits[j].Box.Width))
                    {
                        digits[i] = digits[i].Join(digits[j]);
                        digits.RemoveAt(j);
                        merged = true;
                    }
        }
        // Fragments join the digit they overlap most, or the nearest one close by; others are dropped.
        foreach (var f in fragments)
        {
            int at = -1;
            double bestScore = double.MinValue;
            for (int i = 0; i < digits.Count; i++)
            {
                var d = digits[i].Box;
                double gapX = Math.Max(0, Math.Max(d.X - f.Box.Right, f.Box.X - d.Right));
                double gapY = Math.Max(0, Math.Max(d.Y - f.Box.Bottom, f.Box.Y - d.Bottom));
                if (gapX > 0.25 * d.Height || gapY > 0.3 * d.Height) continue;
                double score = OverlapX(d, f.Box) - gapX - gapY;
                if (score > bestScore) { bestScore = score; at = i; }
            }
            if (at >= 0) digits[at] = digits[at].Join(f);
        }
        digits.Sort((a, b) => a.Box.CentreX.CompareTo(b.Box.CentreX));
        if (digits.Count > MaxDigits) digits = digits.OrderByDescending(d => d.Pixels.Count).Take(MaxDigits).OrderBy(d => d.Box.CentreX).ToList();
        return digits.Select(d => new DigitRegion(d.Box, d.Pixels.ToArray()) { Splits = Splits(d, w) }).ToList();
    }

    /// <summary>
    /// A solid patch cut off by the frame (the tip of a shadow): it fills much of its box and lies along
    /// the border for a long run; a digit cut by the frame meets it with stroke ends, short runs.
    /// </summary>
    static bool CutPatch(Piece c, int w, int h)
    {
        if (c.Pixels.Count < 0.4 * c.Box.Width * c.Box.Height) return false;
        var set = new HashSet<int>(c.Pixels);
        int Longest(IEnumerable<int> border)
        {
            int best = 0, run = 0;
            foreach (int p in border) { run = set.Contains(p) ? run + 1 : 0; best = Math.Max(best, run); }
            return best;
        }
        int longest = Math.Max(
            Math.Max(Longest(Enumerable.Range(0, w)), Longest(Enumerable.Range(0, w).Select(x => (h - 1) * w + x))),
            Math.Max(Longest(Enumerable.Range(0, h).Select(y => y * w)), Longest(Enumerable.Range(0, h).Select(y => y * w + w - 1))));
        return longest >= 3 * c.Thickness && longest >= 0.5 * Math.Min(c.Box.Width, c.Box.Height);
    }

    /// <summary>The mask with gaps of one or two pixels closed (a 3x3 dilation, then erosion).</summary>
    static bool[] Bridge(bool[] mask, int w, int h)
    {
        var g = new GrayImage(w, h);
        for (int i = 0; i < mask.Length; i++) g.Pixels[i] = mask[i] ? 1 : 0;
        var closed = Morphology.Close(g, 1);
        var result = new bool[mask.Length];
        for (int i = 0; i < mask.Length; i++) result[i] = closed.Pixels[i] > 0.5f;
        return result;
    }

    static int TallestOf(List<Piece> comps, int largest) =>
        comps.Where(c => c.Pixels.Count >= 0.1 * largest).Select(c => c.Box.Height).DefaultIfEmpty(1).Max();

    static int OverlapX(PixelBox a, PixelBox b) => Math.Max(0, Math.Min(a.Right, b.Right) - Math.Max(a.X, b.X));

    /// <summary>Cuts of a wide region into 2 or 3 parts at its thinnest columns, for the reader to try.</summary>
    static List<DigitRegion[]> Splits(Piece d, int w)
    {
        var box = d.Box;
        var options = new List<DigitRegion[]>();
        if (box.Width < 1.1 * box.Height) return options;
        // Per column: how much ink, and in how many separate runs. Touching digits meet at one place,
        // so a cut goes through one run; a cut through two (the top and bottom of a wide 0) would
        // cut a loop in half.
        var column = new int[box.Width];
        var inColumn = new bool[box.Width * box.Height];
        foreach (int p in d.Pixels)
        {
            int x = p % w - box.X, y = p / w - box.Y;
            column[x]++;
            inColumn[x * box.Height + y] = true;
        }
        var runs = new int[box.Width];
        for (int x = 0; x < box.Width; x++)
            for (int y = 0; y < box.Height; y++)
                if (inColumn[x * box.Height + y] && (y == 0 || !inColumn[x * box.Height + y - 1])) runs[x]++;
        for (int parts = 2; parts <= 3; parts++)
        {
            if (box.Width < 0.55 * parts * box.Height) break;
            var cuts = new List<int>();
            for (int k = 1; k < parts; k++)
            {
                // The thinnest one-run column near where the k-th cut would fall if the digits were equally wide.
                int centre = box.Width * k / parts, span = box.Width / (2 * parts);
                int at = -1;
                for (int x = Math.Max(1, centre - span); x <= Math.Min(box.Width - 2, centre + span); x++)
                    if (runs[x] <= 1 && (at < 0 || column[x] < column[at] || (column[x] == column[at] && Math.Abs(x - centre) < Math.Abs(at - centre)))) at = x;
                if (at < 0) break;
                cuts.Add(at);
            }
            if (cuts.Count < parts - 1) continue;
            var pieces = new List<int>[parts];
            for (int k = 0; k < parts; k++) pieces[k] = [];
            foreach (int p in d.Pixels)
            {
                int x = p % w - box.X, k = 0;
                while (k < cuts.Count && x >= cuts[k]) k++;
                pieces[k].Add(p);
            }
            if (pieces.Any(p => p.Count == 0)) continue;
            options.Add(pieces.Select(p => new DigitRegion(BoxOf(p, w), p.ToArray())).ToArray());
        }
        return options;
    }

    static PixelBox BoxOf(List<int> pixels, int w)
    {
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        foreach (int p in pixels) { int x = p % w, y = p / w; x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
        return PixelBox.FromCorners(x0, y0, x1, y1);
    }

    sealed record Piece(PixelBox Box, List<int> Pixels, bool Border, int Edge)
    {
        public Piece Join(Piece o) => new(Box.Union(o.Box), [.. Pixels, .. o.Pixels], Border || o.Border, Edge + o.Edge);

        /// <summary>2·area / perimeter: the width of its strokes, or of a solid patch.</summary>
        public float Thickness => 2f * Pixels.Count / Math.Max(1, Edge);
    }

    /// <summary>8-connected pieces of the mask, with their boxes and edge lengths.</summary>
    static List<Piece> Components(bool[] mask, int w, int h)
    {
        var pieces = new List<Piece>();
        foreach (var pixels in PixelPieces(mask, w, h))
        {
            var box = BoxOf(pixels, w);
            int edge = 0;
            foreach (int p in pixels)
            {
                int px = p % w, py = p / w;
                if (px == 0 || py == 0 || px == w - 1 || py == h - 1 || !mask[p - 1] || !mask[p + 1] || !mask[p - w] || !mask[p + w]) edge++;
            }
            pieces.Add(new Piece(box, pixels, box.X == 0 || box.Y == 0 || box.Right == w || box.Bottom == h, edge));
        }
        return pieces;
    }

    /// <summary>The pixels of each 8-connected piece of the mask, pieces in the order of their first pixel.</summary>
    internal static List<List<int>> PixelPieces(bool[] mask, int w, int h)
    {
        var seen = new bool[mask.Length];
        var pieces = new List<List<int>>();
        var stack = new Stack<int>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || seen[start]) continue;
            var pixels = new List<int>();
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop(), px = p % w, py = p / w;
                pixels.Add(p);
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int qx = px + dx, qy = py + dy;
                        if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
                        int q = qy * w + qx;
                        if (mask[q] && !seen[q]) { seen[q] = true; stack.Push(q); }
                    }
            }
            pieces.Add(pixels);
        }
        return pieces;
    }
}
