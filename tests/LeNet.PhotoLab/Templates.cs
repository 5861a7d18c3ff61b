// Pen paths of the ten digits in a 100x140 box, written the way people commonly write them; the
// jitter function moves control points so that no two drawings are the same.
using SkiaSharp;

namespace LeNet.PhotoLab;

public static class Templates
{
    public static SKPath Path(int digit, Func<float> j)
    {
        var p = new SKPath();
        void Oval(float cx, float cy, float rx, float ry) => p.AddOval(new SKRect(cx - rx + j(), cy - ry + j(), cx + rx + j(), cy + ry + j()));
        switch (digit)
        {
            case 0: Oval(50, 70, 34, 60); break;
            case 1: p.MoveTo(35 + j(), 32 + j()); p.LineTo(56 + j(), 10); p.LineTo(54 + j(), 132); break;
            case 2:
                p.MoveTo(15 + j(), 42 + j()); p.CubicTo(15, 0 + j(), 85 + j(), 0, 84 + j(), 42);
                p.CubicTo(84, 72 + j(), 40 + j(), 92, 14 + j(), 130); p.LineTo(90 + j(), 128 + j()); break;
            case 3:
                p.MoveTo(16 + j(), 25 + j()); p.CubicTo(40, 0 + j(), 92 + j(), 10, 80 + j(), 45);
                p.CubicTo(74, 64 + j(), 52, 68, 40 + j(), 68);
                p.MoveTo(40, 68); p.CubicTo(96 + j(), 66, 96, 132 + j(), 50 + j(), 131);
                p.CubicTo(34, 131, 22, 125, 12 + j(), 114 + j()); break;
            case 4:
                p.MoveTo(62 + j(), 10 + j()); p.LineTo(10 + j(), 92 + j()); p.LineTo(92 + j(), 92 + j());
                p.MoveTo(70 + j(), 48 + j()); p.LineTo(70 + j(), 134 + j()); break;
            case 5:
                p.MoveTo(86 + j(), 12 + j()); p.LineTo(26 + j(), 12 + j()); p.LineTo(20 + j(), 64 + j());
                p.CubicTo(45, 50 + j(), 90 + j(), 54, 88 + j(), 95); p.CubicTo(86, 136 + j(), 34 + j(), 140, 12 + j(), 118 + j()); break;
            case 6:
                p.MoveTo(76 + j(), 10 + j()); p.CubicTo(40 + j(), 30, 16, 70 + j(), 18 + j(), 100);
                p.CubicTo(20, 136 + j(), 80 + j(), 140, 82 + j(), 100); p.CubicTo(84, 68 + j(), 40, 64, 20 + j(), 94 + j()); break;
            case 7: p.MoveTo(12 + j(), 14 + j()); p.LineTo(88 + j(), 14 + j()); p.LineTo(42 + j(), 134 + j()); break;
            case 8: Oval(50, 38, 27, 27); Oval(50, 99, 33, 33); break;
            case 9:
                p.MoveTo(78 + j(), 45 + j()); p.CubicTo(78, 5 + j(), 18 + j(), 5, 18 + j(), 45);
                p.CubicTo(18, 82 + j(), 78 + j(), 82, 78, 45); p.LineTo(74 + j(), 134 + j()); break;
            default: throw new ArgumentOutOfRangeException(nameof(digit));
        }
        return p;
    }
}
