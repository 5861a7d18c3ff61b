// Plots drawn with ScottPlot (rendered headless with SkiaSharp): training curves, the confusion
// matrix, per-class accuracy (of one model, or two side by side with their difference).
using ScottPlot;

using LeNet.Training;

namespace LeNet.Reports;

public static class Charts
{
    public const int Width = 900, Height = 520, MatrixSide = 720;
    static readonly Color Train = Color.FromHex("#2f5bd3"), Test = Color.FromHex("#d1495b"), Other = Color.FromHex("#edae49");

    /// <summary>White to deep blue; t in [0, 1].</summary>
    static Color Sequential(double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new Color((byte)(247 + (8 - 247) * t), (byte)(251 + (48 - 251) * t), (byte)(255 + (107 - 255) * t));
    }

    static Plot NewPlot(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    /// <summary>Loss per epoch (and per logged step), train and test.</summary>
    public static byte[] Loss(MetricsLog log, string title)
    {
        var plot = NewPlot(title, "epoch", "loss");
        var steps = log.Rows.Where(r => !r.IsEpochEnd).ToArray();
        if (steps.Length > 0)
        {
            var s = plot.Add.Scatter(steps.Select(log.EpochOf).ToArray(), steps.Select(r => r.TrainLoss).ToArray(), Train.WithAlpha(.45));
            s.LegendText = "train (logged steps, mean so far in the epoch)";
            s.MarkerSize = 0;
        }
        AddEpochSeries(plot, log, r => r.TrainLoss, "train (epoch)", Train);
        AddEpochSeries(plot, log, r => r.TestLoss!.Value, "test (epoch)", Test);
        plot.Axes.SetLimitsY(0, Math.Max(1e-3, log.Rows.Max(r => Math.Max(r.TrainLoss, r.TestLoss ?? 0))) * 1.05);
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>Accuracy per epoch (and per logged step), train and test, in percent.</summary>
    public static byte[] Accuracy(MetricsLog log, string title)
    {
        var plot = NewPlot(title, "epoch", "accuracy (%)");
        var steps = log.Rows.Where(r => !r.IsEpochEnd).ToArray();
        if (steps.Length > 0)
        {
            var s = plot.Add.Scatter(steps.Select(log.EpochOf).ToArray(), steps.Select(r => r.TrainAccuracy * 100).ToArray(), Train.WithAlpha(.45));
            s.LegendText = "train (logged steps, so far in the epoch)";
            s.MarkerSize = 0;
        }
        AddEpochSeries(plot, log, r => r.TrainAccuracy * 100, "train (epoch)", Train);
        AddEpochSeries(plot, log, r => r.TestAccuracy!.Value * 100, "test (epoch)", Test);
        // The lowest point drawn, logged steps included (the first ones of a run are the lowest).
        double low = log.Rows.Count > 0 ? log.Rows.Min(r => Math.Min(r.TrainAccuracy, r.TestAccuracy ?? 1)) * 100 : 0;
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor(low - 1)), 100);
        plot.ShowLegend(Alignment.LowerRight);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    public static byte[] LearningRate(MetricsLog log)
    {
        var plot = NewPlot("Learning rate", "epoch", "learning rate");
        var s = plot.Add.Scatter(log.Rows.Select(log.EpochOf).ToArray(), log.Rows.Select(r => r.LearningRate).ToArray(), Train);
        s.MarkerSize = 3;
        plot.Axes.SetLimitsY(0, log.Rows.Max(r => r.LearningRate) * 1.1);
        return plot.GetImageBytes(Width, Height / 2 + 60, ImageFormat.Png);
    }

    static void AddEpochSeries(Plot plot, MetricsLog log, Func<MetricsRow, double> value, string label, Color color)
    {
        var rows = log.Epochs.ToArray();
        if (rows.Length == 0) return;
        var s = plot.Add.Scatter(rows.Select(r => (double)r.Epoch).ToArray(), rows.Select(value).ToArray(), color);
        s.LegendText = label;
        s.MarkerSize = 7;
        s.LineWidth = 2;
    }

    /// <summary>Counts of (true digit, guess) as a heatmap with each count written in its cell.</summary>
    public static byte[] ConfusionMatrix(int[][] confusion, string title)
    {
        int n = confusion.Length;
        var plot = NewPlot(title, "guess", "true digit");
        // Off-diagonal cells carry the story; the diagonal would swamp the colour scale, so cells are
        // coloured by log(1 + count).
        var data = new double[n, n];
        for (int t = 0; t < n; t++)
            for (int g = 0; g < n; g++) data[t, g] = Math.Log10(1 + confusion[t][g]);
        double max = data.Cast<double>().Max();
        for (int t = 0; t < n; t++)
            for (int g = 0; g < n; g++)
            {
                // True digit t is drawn in row n-1-t so that 0 is at the top.
                double y = n - 1 - t, v = max > 0 ? data[t, g] / max : 0;
                var cell = plot.Add.Rectangle(g - 0.5, g + 0.5, y - 0.5, y + 0.5);
                cell.FillColor = Sequential(v);
                cell.LineColor = Colors.White;
                cell.LineWidth = 1;
                var text = plot.Add.Text(confusion[t][g].ToString(), g, y);
                text.LabelFontSize = 15;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = v > 0.55 ? Colors.White : Colors.Black;
                text.LabelBold = t == g;
            }
        var ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => i.ToString()).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, labels);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.Reverse().ToArray(), labels);
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 18;
        plot.Axes.Left.TickLabelStyle.FontSize = 18;
        plot.Axes.Bottom.Label.FontSize = 18;
        plot.Axes.Left.Label.FontSize = 18;
        plot.HideGrid();
        return plot.GetImageBytes(MatrixSide, MatrixSide, ImageFormat.Png);
    }

    /// <summary>Per-class accuracy in percent; with a second model, both side by side.</summary>
    public static byte[] PerClassAccuracy(double[] perClass, string name, double[]? other = null, string? otherName = null)
    {
        var plot = NewPlot(other is null ? "Accuracy per digit" : "Accuracy per digit, side by side", "digit", "accuracy (%)");
        var bars = new List<Bar>();
        double width = other is null ? 0.7 : 0.38;
        for (int d = 0; d < perClass.Length; d++)
        {
            double x = other is null ? d : d - 0.2;
            bars.Add(new Bar { Position = x, Value = perClass[d] * 100, FillColor = Train, Size = width });
            if (other is not null) bars.Add(new Bar { Position = d + 0.2, Value = other[d] * 100, FillColor = Other, Size = width });
        }
        plot.Add.Bars(bars);
        // Values are written just inside the top of each bar, so the axis can end at 100% and cut nothing off.
        foreach (var bar in bars)
        {
            var text = plot.Add.Text($"{bar.Value:F1}", bar.Position, bar.Value);
            text.LabelAlignment = Alignment.UpperCenter;
            text.OffsetY = 4;
            text.LabelFontSize = other is null ? 13 : 10;
            text.LabelFontColor = Colors.White;
            text.LabelBold = true;
        }
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = name, FillColor = Train });
        if (other is not null) plot.Legend.ManualItems.Add(new LegendItem { LabelText = otherName ?? "other", FillColor = Other });
        // Below the plot, where it covers no bar.
        plot.ShowLegend(Edge.Bottom);
        var all = other is null ? perClass : perClass.Concat(other).ToArray();
        plot.Axes.SetLimitsY(Math.Max(0, Math.Floor(all.Min() * 100 - 5)), 100);
        plot.Axes.SetLimitsX(-0.6, perClass.Length - 0.4);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, perClass.Length).Select(i => (double)i).ToArray(), Enumerable.Range(0, perClass.Length).Select(i => i.ToString()).ToArray());
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>Accuracy of the first model minus the second's, per digit, in percentage points.</summary>
    public static byte[] AccuracyDifference(double[] a, double[] b, string aName, string bName)
    {
        var plot = NewPlot($"Accuracy difference per digit: {aName} minus {bName}", "digit", "percentage points");
        var bars = Enumerable.Range(0, a.Length).Select(d =>
        {
            double diff = (a[d] - b[d]) * 100;
            return new Bar { Position = d, Value = diff, FillColor = diff >= 0 ? Train : Test, Size = 0.7, Label = $"{diff:+0.0;-0.0;0}" };
        }).ToList();
        plot.Add.Bars(bars);
        plot.Add.HorizontalLine(0, 1, Colors.Black);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, a.Length).Select(i => (double)i).ToArray(), Enumerable.Range(0, a.Length).Select(i => i.ToString()).ToArray());
        double m = Math.Max(1, bars.Max(x => Math.Abs(x.Value))) * 1.2;
        plot.Axes.SetLimits(-0.6, a.Length - 0.4, -m, m);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }
}
