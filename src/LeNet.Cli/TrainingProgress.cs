// `lenet train` on a terminal: each finished epoch becomes a permanent line (as Keras prints them),
// and below it one live line, redrawn in place, with the running epoch's bar, step, loss, images/s
// and the time left for the epoch and for the whole run. Both fit the terminal's width at any size
// from 60 columns: fields are dropped, least useful first, rather than wrapped or cut.
using System.Globalization;
using LeNet.Training;

namespace LeNet.Cli;

public sealed class TrainingProgress(TextWriter output, Func<int> width, int trainCount, bool holdout = false)
{
    const long RedrawMilliseconds = 100;

    readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    double epochStartedAt, lastEpochSeconds = double.NaN;
    long lastDraw = long.MinValue;
    int lastEpoch = -1;

    /// <summary>The terminal's width, 80 when it cannot be read.</summary>
    public static int TerminalWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 80; }
        catch (IOException) { return 80; }
    }

    public void Step(StepProgress p)
    {
        if (p.Epoch != lastEpoch) { lastEpoch = p.Epoch; epochStartedAt = clock.Elapsed.TotalSeconds; }
        long now = clock.ElapsedMilliseconds;
        if (now - lastDraw < RedrawMilliseconds && p.Step < p.StepsPerEpoch) return;
        lastDraw = now;
        double elapsed = clock.Elapsed.TotalSeconds - epochStartedAt;
        double epochLeft = p.Step > 0 ? elapsed / p.Step * (p.StepsPerEpoch - p.Step) : double.NaN;
        double perEpoch = double.IsNaN(lastEpochSeconds) ? (p.Step > 0 ? elapsed / p.Step * p.StepsPerEpoch : double.NaN) : lastEpochSeconds;
        double runLeft = epochLeft + (p.Epochs - p.Epoch) * perEpoch;
        Draw(Bar(p, epochLeft, runLeft, width()), newLine: false);
    }

    public void Epoch(EpochResult e, int epochs)
    {
        lastEpochSeconds = clock.Elapsed.TotalSeconds - epochStartedAt;
        Draw(EpochLine(e, epochs, trainCount / Math.Max(1e-9, e.EpochSeconds), width(), holdout), newLine: true);
    }

    /// <summary>Clears the live line (when training stops early).</summary>
    public void Clear() => output.Write("\r" + new string(' ', Math.Max(0, width() - 1)) + "\r");

    void Draw(string line, bool newLine)
    {
        int w = Math.Max(20, width()) - 1;   // the last column stays free: writing it wraps some terminals
        output.Write("\r" + line.PadRight(w));
        if (newLine) output.Write('\n');
        output.Flush();
    }

    /// <summary>One finished epoch, with as many of its figures as fit in <paramref name="width"/> − 1 columns.</summary>
    /// <remarks>With <paramref name="holdout"/> the evaluation is on held-out training images and says so.</remarks>
    public static string EpochLine(EpochResult e, int epochs, double imagesPerSecond, int width, bool holdout = false) => Fit(width,
        ($"epoch {e.Epoch}/{epochs}", 0),
        ($"loss {e.TrainLoss:F4}", 2),
        ($"acc {Percent(e.TrainAccuracy)}", 3),
        ($"{(holdout ? "held-out" : "test")} loss {e.TestLoss:F4}", 5),
        ($"{(holdout ? "held-out" : "test")} acc {Percent(e.TestAccuracy)}", 1),
        ($"lr {e.LearningRate.ToString("G3", CultureInfo.InvariantCulture)}", 7),
        ($"{imagesPerSecond.ToString("N0", CultureInfo.InvariantCulture)} img/s", 6),
        ($"{e.EpochSeconds.ToString("F1", CultureInfo.InvariantCulture)} s", 4));

    /// <summary>The running epoch: its bar, step, loss, speed and the time left, fitted to <paramref name="width"/> − 1 columns.</summary>
    public static string Bar(StepProgress p, double epochSecondsLeft, double runSecondsLeft, int width)
    {
        const int minBar = 8;
        int room = Math.Max(20, width) - 1;
        string head = $"epoch {p.Epoch}/{p.Epochs} ";
        string[] tail =
        [
            $" {p.Step}/{p.StepsPerEpoch}",
            $"  loss {p.Loss:F4}",
            $"  ETA {Duration(epochSecondsLeft)}",
            $" (run {Duration(runSecondsLeft)})",
            $"  {p.ImagesPerSecond.ToString("N0", CultureInfo.InvariantCulture)} img/s",
        ];
        // The bar gets what is left, at least 8 columns. Where that leaves too little, "epoch" goes
        // first (4/12 still says it), then fields from the end.
        int Needed(string h, int fields) => h.Length + minBar + 2 + tail.Take(fields).Sum(t => t.Length);
        if (Needed(head, tail.Length - 1) > room) head = $"{p.Epoch}/{p.Epochs} ";
        int keep = tail.Length;
        while (keep > 0 && Needed(head, keep) > room) keep--;
        string rest = string.Concat(tail.Take(keep));
        int barWidth = Math.Max(minBar, room - head.Length - rest.Length - 2);
        int filled = (int)Math.Round(barWidth * (double)p.Step / Math.Max(1, p.StepsPerEpoch));
        string line = head + "[" + new string('=', filled) + new string(' ', barWidth - filled) + "]" + rest;
        return line.Length <= room ? line : line[..room];
    }

    /// <summary>Breaks a sentence of comma-separated parts into lines of at most <paramref name="width"/> − 1 columns, after its commas and colons.</summary>
    public static string Wrap(string text, int width)
    {
        int room = Math.Max(20, width) - 1;
        var lines = new List<string>();
        string line = "";
        foreach (var part in System.Text.RegularExpressions.Regex.Split(text, @"(?<=[,:;]) "))
        {
            if (line.Length > 0 && line.Length + 1 + part.Length > room) { lines.Add(line); line = "  " + part; }
            else line = line.Length == 0 ? part : line + " " + part;
        }
        lines.Add(line);
        return string.Join(Environment.NewLine, lines);
    }

    static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>A time left as 42s, 3m05s or 1h02m; "?" while unknown.</summary>
    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    /// <summary>Joins the fields (in their order) that fit, dropping the highest priority numbers first.</summary>
    static string Fit(int width, params (string Text, int Priority)[] fields)
    {
        int room = Math.Max(20, width) - 1;
        var kept = fields.ToList();
        string Join() => string.Join("  ", kept.Select(f => f.Text));
        while (Join().Length > room && kept.Count > 1) kept.Remove(kept.MaxBy(f => f.Priority));
        string line = Join();
        return line.Length <= room ? line : line[..room];
    }
}
