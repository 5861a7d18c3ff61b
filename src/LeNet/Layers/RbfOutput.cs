// The 1998 paper's output layer (Sec. II-B, eq. 7): ten Euclidean radial basis function units,
// y_i = Σ_j (x_j − w_ij)², whose centres w_i are fixed ±1 vectors: stylised 7x12 bitmaps of the digits.
// The output is a penalty (distance); the guess is the unit with the smallest output.
// input (N, 84) → output (N, 10); no trainable parameters, 840 fixed weights.

namespace LeNet.Layers;

public sealed class RbfOutput : Layer
{
    public const int BitmapWidth = 7, BitmapHeight = 12, Units = BitmapWidth * BitmapHeight;

    public RbfOutput(string name, Shape input) : base(name, input, new Shape(10, 1, 1), Activation.None)
    {
        if (input.Size != Units) throw new ArgumentException($"The RBF layer reads {Units} units (7x12), not {input.Size}.");
    }

    public override string Kind => "RbfOutput";
    public override string Details => "7x12 bitmaps";
    public override int FixedParameterCount => 10 * Units;
    public override long Connections => 10 * Units;
    public override int ScratchLength(int n) => 0;

    /// <summary>The fixed centres: row i is the 7x12 bitmap of digit i, +1 for ink and −1 for background.</summary>
    public static ReadOnlySpan<float> Centres => CentreValues;

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * Units, Units);
            for (int i = 0; i < 10; i++)
            {
                var w = CentreValues.AsSpan(i * Units, Units);
                float d = 0;
                for (int j = 0; j < Units; j++) { float t = xs[j] - w[j]; d += t * t; }
                y[s * 10 + i] = d;
            }
        }
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch)
    {
        if (dx.IsEmpty) return;
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * Units, Units);
            var d = dx.Slice(s * Units, Units);
            d.Clear();
            for (int i = 0; i < 10; i++)
            {
                float g = 2 * dy[s * 10 + i];
                var w = CentreValues.AsSpan(i * Units, Units);
                for (int j = 0; j < Units; j++) d[j] += g * (xs[j] - w[j]);   // ∂y_i/∂x_j = 2(x_j − w_ij)
            }
        }
    }

    // The digits as drawn for the RBF centres (the paper's Fig. 3 shows its own set; these follow it in spirit).
    static readonly string[][] Bitmaps =
    [
        ["..###..", ".#...#.", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."],
        ["...#...", "..##...", ".#.#...", "...#...", "...#...", "...#...", "...#...", "...#...", "...#...", "...#...", "...#...", ".#####."],
        ["..###..", ".#...#.", "#.....#", "......#", ".....#.", "....#..", "...#...", "..#....", ".#.....", "#......", "#......", "#######"],
        [".#####.", "#.....#", "......#", "......#", ".....#.", "..###..", ".....#.", "......#", "......#", "......#", "#.....#", ".#####."],
        [".....#.", "....##.", "...#.#.", "..#..#.", ".#...#.", "#....#.", "#######", ".....#.", ".....#.", ".....#.", ".....#.", ".....#."],
        ["#######", "#......", "#......", "#......", "#####..", ".....#.", "......#", "......#", "......#", "......#", "#....#.", ".####.."],
        ["...###.", "..#....", ".#.....", "#......", "#......", "#.###..", "##...#.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."],
        ["#######", "......#", "......#", ".....#.", ".....#.", "....#..", "....#..", "...#...", "...#...", "..#....", "..#....", "..#...."],
        ["..###..", ".#...#.", "#.....#", "#.....#", ".#...#.", "..###..", ".#...#.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."],
        ["..###..", ".#...#.", "#.....#", "#.....#", "#.....#", ".#...##", "..###.#", "......#", "......#", ".....#.", "....#..", ".###..."],
    ];

    static readonly float[] CentreValues = BuildCentres();

    static float[] BuildCentres()
    {
        var c = new float[10 * Units];
        for (int d = 0; d < 10; d++)
        {
            if (Bitmaps[d].Length != BitmapHeight) throw new InvalidOperationException($"Bitmap {d} has {Bitmaps[d].Length} rows.");
            for (int r = 0; r < BitmapHeight; r++)
            {
                if (Bitmaps[d][r].Length != BitmapWidth) throw new InvalidOperationException($"Bitmap {d} row {r} is not 7 wide.");
                for (int col = 0; col < BitmapWidth; col++) c[d * Units + r * BitmapWidth + col] = Bitmaps[d][r][col] == '#' ? 1f : -1f;
            }
        }
        return c;
    }

    /// <summary>The bitmaps as text rows ('#' ink, '.' background), for summaries and reports.</summary>
    public static IReadOnlyList<string[]> BitmapRows => Bitmaps;
}
