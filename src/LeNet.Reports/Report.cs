// `lenet report`: one folder with index.html and a PNG for each picture, named for what it shows.
// The page is self-contained with its pictures beside it (the gallery's small digits are inline).
using System.Net;
using System.Text;
using LeNet.Data;
using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;

namespace LeNet.Reports;

public sealed record ReportOptions
{
    public required string ModelPath { get; init; }
    public required string OutDir { get; init; }
    public required MnistDataset TestSet { get; init; }
    public string? LogPath { get; init; }
    public string? ComparePath { get; init; }
    /// <summary>A digit image for the feature maps; default: the first test image.</summary>
    public string? ImagePath { get; init; }
    public int Threads { get; init; }
}

public sealed record ModelReport(string Name, Network Network, EvaluationResult Evaluation, IReadOnlyList<Mistake> Mistakes)
{
    /// <summary>What the model file says about its training (options, epochs, images, seconds), or null.</summary>
    public System.Text.Json.Nodes.JsonObject? Training { get; init; }
}

public sealed record ReportResult(string IndexPath, IReadOnlyList<string> Pictures, ModelReport Model, ModelReport? Compared);

public static class Report
{
    public static ReportResult Write(ReportOptions options, Action<string>? progress = null)
    {
        var log = options.LogPath is null ? null : MetricsLog.Read(options.LogPath);
        byte[] digit;
        string digitLabel;
        if (options.ImagePath is not null)
        {
            digit = DigitPreprocessor.FromFile(options.ImagePath).Pixels28;
            digitLabel = Path.GetFileName(options.ImagePath);
        }
        else
        {
            digit = options.TestSet.Image(0).ToArray();
            digitLabel = $"test image 0 (a {options.TestSet.Labels[0]})";
        }

        // Everything is written to a temporary folder inside the report's, then moved into place file by
        // file, index.html last: a failure (a full disk, an unwritable path) leaves the old report whole.
        string outDir = Path.GetFullPath(options.OutDir);
        Directory.CreateDirectory(outDir);
        string staging = Path.Combine(outDir, $".report.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            var result = WriteTo(staging, outDir);
            foreach (var file in result.Pictures.Append("index.html"))
                File.Move(Path.Combine(staging, file), Path.Combine(outDir, file), overwrite: true);
            return result;
        }
        finally
        {
            try { Directory.Delete(staging, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        ReportResult WriteTo(string dir, string final)
        {
            var pictures = new List<string>();
            void Save(string file, byte[] png)
            {
                File.WriteAllBytes(Path.Combine(dir, file), png);
                pictures.Add(file);
            }

            progress?.Invoke($"Evaluating {Path.GetFileName(options.ModelPath)} on {options.TestSet.Count:N0} test images");
            var main = Evaluate(options.ModelPath, options.TestSet, options.Threads);
            ModelReport? other = null;
            if (options.ComparePath is not null)
            {
                progress?.Invoke($"Evaluating {Path.GetFileName(options.ComparePath)}");
                other = Evaluate(options.ComparePath, options.TestSet, options.Threads);
                if (other.Name == main.Name) other = other with { Name = other.Name + " (compared)" };
            }

            progress?.Invoke("Drawing the pictures");
            if (log is not null)
            {
                Save("training-loss.png", Charts.Loss(log, $"Loss while training {main.Name}"));
                Save("training-accuracy.png", Charts.Accuracy(log, $"Accuracy while training {main.Name}"));
                Save("learning-rate.png", Charts.LearningRate(log));
            }
            var sections = new List<(ModelReport M, string Prefix)> { (main, "") };
            if (other is not null) sections.Add((other, "compare-"));
            foreach (var (m, prefix) in sections)
            {
                Save($"{prefix}confusion-matrix.png", Charts.ConfusionMatrix(m.Evaluation.Confusion, $"Confusion matrix: {m.Name} ({m.Evaluation.Accuracy * 100:F2}%)"));
                if (other is null) Save("per-class-accuracy.png", Charts.PerClassAccuracy(m.Evaluation.PerClass, m.Name));
                Save($"{prefix}misclassified.png", Pictures.Gallery(m.Mistakes, i => options.TestSet.Image(i).ToArray(),
                    $"Misclassified test digits: {m.Name} ({m.Mistakes.Count:N0} of {m.Evaluation.Count:N0})"));
                var trace = m.Network.Trace(digit);
                Save($"{prefix}feature-maps.png", Pictures.FeatureMaps(m.Network, trace, $"Feature maps: {m.Name} reading {digitLabel} as {trace.Digit}"));
                foreach (var conv in m.Network.Layers.OfType<Conv2d>())
                    Save($"{prefix}kernels-{conv.Name}.png", Pictures.Kernels(m.Network, conv, $"Kernels of {conv.Name}: {m.Name}"));
            }
            if (other is not null)
            {
                Save("per-class-accuracy.png", Charts.PerClassAccuracy(main.Evaluation.PerClass, main.Name, other.Evaluation.PerClass, other.Name));
                Save("accuracy-difference.png", Charts.AccuracyDifference(main.Evaluation.PerClass, other.Evaluation.PerClass, main.Name, other.Name));
            }
            if (sections.Any(s => s.M.Network.Layers.OfType<RbfOutput>().Any())) Save("rbf-bitmaps.png", Pictures.RbfBitmaps());

            File.WriteAllText(Path.Combine(dir, "index.html"), Html(options, log, main, other, digit, digitLabel, pictures));
            return new ReportResult(Path.Combine(final, "index.html"), pictures, main, other);
        }
    }

    static ModelReport Evaluate(string path, MnistDataset data, int threads)
    {
        var network = PretrainedModels.Resolve(path);
        var e = Evaluator.Evaluate(network, data, threads);
        var mistakes = new List<Mistake>();
        for (int i = 0; i < e.Count; i++)
        {
            if (e.Predictions[i] == data.Labels[i]) continue;
            var p = e.Probabilities.AsSpan(i * Loss.Classes, Loss.Classes);
            int guess = e.Predictions[i], second = -1;
            for (int d = 0; d < Loss.Classes; d++)
                if (d != guess && (second < 0 || p[d] > p[second])) second = d;
            mistakes.Add(new Mistake(i, data.Labels[i], guess, second, p[guess]));
        }
        var ordered = mistakes.OrderBy(x => x.Truth).ThenByDescending(x => x.Confidence).ThenBy(x => x.Index).ToList();
        return new ModelReport(Path.GetFileNameWithoutExtension(path), network, e, ordered) { Training = TrainingMetadata(path) };
    }

    static System.Text.Json.Nodes.JsonObject? TrainingMetadata(string path)
    {
        try
        {
            var contents = File.Exists(path) ? ModelFile.Read(path) : PretrainedModels.Read(path);
            return contents.Metadata["options"] is null ? null : contents.Metadata;
        }
        catch (LeNetException) { return null; }
    }

    /// <summary>One row per model of the settings it was trained with (from its file's metadata).</summary>
    static void TrainingSettings(StringBuilder h, IEnumerable<ModelReport> models)
    {
        var trained = models.Where(m => m.Training is not null).ToList();
        if (trained.Count == 0) return;
        h.Append("<h3>How the models were trained</h3><table class=\"settings\"><tr><th>Model</th><th>Architecture</th><th>Epochs</th><th>Batch</th><th>Optimizer</th><th>Learning rate</th><th>Schedule</th><th>Distortions</th><th>Label smoothing</th><th>Seed</th><th>Training images</th><th>Time</th></tr>");
        foreach (var m in trained)
        {
            var t = m.Training!;
            var op = t["options"]!.AsObject();
            string V(System.Text.Json.Nodes.JsonNode? n) => n is null ? "–" : E(n.ToString());
            double? seconds = t["seconds"]?.GetValue<double>();
            h.Append($"<tr><td>{E(m.Name)}</td><td>{V(op["architecture"])}</td><td>{V(t["epochs"] ?? op["epochs"])}</td><td>{V(op["batch"])}</td><td>{V(op["optimizer"])}</td><td>{V(op["lr"])}</td>" +
                $"<td>{V(op["schedule"])}</td><td>{Distortions(op)}</td><td>{V(op["labelSmoothing"])}</td><td>{V(op["seed"])}</td>" +
                $"<td>{(t["trainImages"] is { } n ? n.GetValue<int>().ToString("N0") : "–")}</td><td>{(seconds is { } sec ? (sec < 10 ? $"{sec:F1} s" : $"{sec:F0} s") : "–")}</td></tr>");
        }
        h.Append("</table>");
    }

    static string Distortions(System.Text.Json.Nodes.JsonObject options)
    {
        if (options["augment"]?.GetValue<bool>() != true) return "no";
        double alpha = options["elasticAlpha"]?.GetValue<double>() ?? 0;
        return alpha > 0
            ? E(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"affine + elastic (α {alpha:0.##}, σ {options["elasticSigma"]?.GetValue<double>() ?? 4:0.##})"))
            : "affine";
    }

    static string E(string s) => WebUtility.HtmlEncode(s);

    static string Html(ReportOptions o, MetricsLog? log, ModelReport main, ModelReport? other, byte[] digit, string digitLabel, List<string> pictures)
    {
        var h = new StringBuilder();
        string title = other is null ? $"LeNet.NET report: {main.Name}" : $"LeNet.NET report: {main.Name} and {other.Name}";
        h.Append($$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>{{E(title)}}</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; max-width: 1200px; margin: 0 auto; padding: 16px 20px 40px; line-height: 1.45; color: #1b1e26; background: #fff; }
            @media (prefers-color-scheme: dark) { body { color: #e7e9ef; background: #15171d; } img.plot { background: #fff; } th { background: #232733 !important; } td, th { border-color: #333a48 !important; } }
            h1 { font-size: 1.7rem; margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 2px solid #2f5bd3; padding-bottom: 4px; } h3 { margin-top: 24px; }
            .muted { color: #6a7080; }
            table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
            td, th { border: 1px solid #d9dce4; padding: 4px 10px; text-align: right; } th { background: #f0f2f7; } td:first-child, th:first-child { text-align: left; }
            img.plot { max-width: 100%; height: auto; border: 1px solid #d9dce4; border-radius: 6px; }
            .side { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; align-items: start; }
            .gallery { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0 12px; }
            figure.mistake { margin: 0; text-align: center; font-size: .75rem; width: 64px; }
            figure.mistake img { width: 56px; height: 56px; image-rendering: pixelated; border: 1px solid #d9dce4; }
            figure.mistake .guess { color: #c62828; font-weight: 600; }
            .big { font-size: 1.3rem; font-weight: 600; }
            </style></head><body>
            <h1>{{E(title)}}</h1>
            <p class="muted">Evaluated on {{E(o.TestSet.Source)}}: {{o.TestSet.Count:N0}} test images. Generated {{DateTime.Now:yyyy-MM-dd HH:mm}} by <code>lenet report</code>.</p>
            """);

        h.Append("<h2>Summary</h2>");
        foreach (var m in Models(main, other))
        {
            h.Append($"<p class=\"big\">{E(m.Name)}: {m.Evaluation.Accuracy * 100:F2}% test accuracy ({m.Evaluation.Errors:N0} errors, mean loss {m.Evaluation.Loss:F4})</p>");
            var s = ModelSummary.Of(m.Network);
            h.Append($"<table class=\"summary\"><tr><th>Layer</th><th>Type</th><th>Output shape</th><th>Parameters</th><th>Connections</th></tr>");
            foreach (var l in s.Layers)
                h.Append($"<tr><td>{E(l.Name)}</td><td>{E(l.Kind + " " + l.Details)}</td><td>{l.OutputShape}</td><td>{l.Parameters:N0}{(l.FixedParameters > 0 ? $" (+{l.FixedParameters:N0} fixed)" : "")}</td><td>{l.Connections:N0}</td></tr>");
            h.Append($"<tr><th>Total</th><th>{E(s.Architecture)}</th><th>{s.InputShape} in</th><th>{s.Parameters:N0}</th><th>{s.Connections:N0}</th></tr></table>");
        }
        TrainingSettings(h, Models(main, other));

        if (log is not null)
        {
            h.Append($"<h2>Training</h2><p class=\"muted\">From {E(Path.GetFileName(o.LogPath!))}: {log.Epochs.Count()} epochs, {log.Rows[^1].Step:N0} steps, {log.Rows[^1].Seconds:F0} s.</p>");
            h.Append("<div class=\"side\"><img class=\"plot\" src=\"training-loss.png\" alt=\"Training and test loss per epoch\"><img class=\"plot\" src=\"training-accuracy.png\" alt=\"Training and test accuracy per epoch\"></div>");
            h.Append("<img class=\"plot\" src=\"learning-rate.png\" alt=\"Learning rate per epoch\">");
        }

        h.Append("<h2>Accuracy</h2>");
        h.Append("<img class=\"plot\" src=\"per-class-accuracy.png\" alt=\"Accuracy per digit\">");
        if (other is not null) h.Append("<img class=\"plot\" src=\"accuracy-difference.png\" alt=\"Difference in accuracy per digit\">");
        h.Append("<table class=\"per-class\"><tr><th>Digit</th>");
        foreach (var m in Models(main, other)) h.Append($"<th>{E(m.Name)}</th>");
        if (other is not null) h.Append("<th>difference (points)</th>");
        h.Append("</tr>");
        for (int d = 0; d < 10; d++)
        {
            h.Append($"<tr><td>{d}</td>");
            foreach (var m in Models(main, other)) h.Append($"<td>{m.Evaluation.PerClass[d] * 100:F2}%</td>");
            if (other is not null) h.Append($"<td>{(main.Evaluation.PerClass[d] - other.Evaluation.PerClass[d]) * 100:+0.00;-0.00;0.00}</td>");
            h.Append("</tr>");
        }
        h.Append("</table>");

        h.Append("<h2>Confusion</h2><p class=\"muted\">Rows are the true digits, columns the guesses; colour grows with log(1 + count).</p><div class=\"side\">");
        foreach (var (m, prefix) in Prefixed(main, other)) h.Append($"<img class=\"plot\" src=\"{prefix}confusion-matrix.png\" alt=\"Confusion matrix of {E(m.Name)}\">");
        h.Append("</div>");
        foreach (var m in Models(main, other))
        {
            h.Append($"<details><summary>Confusion matrix of {E(m.Name)} as a table</summary><table class=\"confusion\" data-model=\"{E(m.Name)}\"><tr><th>true \\ guess</th>");
            for (int g = 0; g < 10; g++) h.Append($"<th>{g}</th>");
            h.Append("</tr>");
            for (int t = 0; t < 10; t++)
            {
                h.Append($"<tr><th>{t}</th>");
                for (int g = 0; g < 10; g++) h.Append($"<td>{m.Evaluation.Confusion[t][g]}</td>");
                h.Append("</tr>");
            }
            h.Append("</table></details>");
        }
        h.Append("<div class=\"side\">");
        foreach (var m in Models(main, other))
        {
            h.Append($"<div><h3>Most confused pairs: {E(m.Name)}</h3><table class=\"pairs\"><tr><th>True digit</th><th>Read as</th><th>Count</th></tr>");
            var pairs = Enumerable.Range(0, 100).Select(i => (T: i / 10, G: i % 10)).Where(x => x.T != x.G && m.Evaluation.Confusion[x.T][x.G] > 0)
                .OrderByDescending(x => m.Evaluation.Confusion[x.T][x.G]).ThenBy(x => x.T).Take(10);
            foreach (var (t, g) in pairs) h.Append($"<tr><td>{t}</td><td>{g}</td><td>{m.Evaluation.Confusion[t][g]}</td></tr>");
            h.Append("</table></div>");
        }
        h.Append("</div>");

        h.Append("<h2>Mistakes</h2>");
        foreach (var (m, prefix) in Prefixed(main, other))
        {
            h.Append($"<h3>{E(m.Name)}: {m.Mistakes.Count:N0} misclassified test digits</h3>");
            h.Append("<p class=\"muted\">Grouped by true digit, the most confident mistakes first. Under each: the guess (its probability) and the second guess.</p>");
            h.Append($"<div class=\"gallery-set\" data-model=\"{E(m.Name)}\">");
            foreach (var group in m.Mistakes.GroupBy(x => x.Truth))
            {
                h.Append($"<h4>True {group.Key}: {group.Count()} wrong</h4><div class=\"gallery\">");
                foreach (var x in group)
                {
                    var ink = o.TestSet.Image(x.Index).ToArray();
                    h.Append($"<figure class=\"mistake\" data-index=\"{x.Index}\" data-true=\"{x.Truth}\" data-guess=\"{x.Guess}\"><img alt=\"test image {x.Index}: a {x.Truth} read as {x.Guess}\" src=\"data:image/png;base64,{Convert.ToBase64String(DigitImages.ToPng(ink, 2))}\">");
                    h.Append($"<figcaption><span class=\"guess\">{x.Guess}</span> {x.Confidence * 100:F0}% · 2nd {x.Second}</figcaption></figure>");
                }
                h.Append("</div>");
            }
            h.Append($"</div><p>As one picture: <a href=\"{prefix}misclassified.png\">{prefix}misclassified.png</a></p>");
        }

        h.Append($"<h2>Feature maps</h2><p class=\"muted\">Every layer's output for {E(digitLabel)}; grey maps are scaled per layer (bright = high), 1x1 layers are drawn blue (negative) to red (positive).</p>");
        h.Append($"<p>The digit as the network sees it: <img alt=\"input digit\" style=\"width:84px;height:84px;image-rendering:pixelated;vertical-align:middle\" src=\"data:image/png;base64,{Convert.ToBase64String(DigitImages.ToPng(digit, 1))}\"></p><div class=\"side\">");
        foreach (var (m, prefix) in Prefixed(main, other)) h.Append($"<img class=\"plot\" src=\"{prefix}feature-maps.png\" alt=\"Feature maps of {E(m.Name)}\">");
        h.Append("</div>");

        h.Append("<h2>Kernels</h2><p class=\"muted\">Blue negative, white zero, red positive, on one scale per layer.</p>");
        foreach (var (m, prefix) in Prefixed(main, other))
        {
            h.Append($"<h3>{E(m.Name)}</h3>");
            foreach (var conv in m.Network.Layers.OfType<Conv2d>())
                h.Append($"<p><img class=\"plot\" src=\"{prefix}kernels-{E(conv.Name)}.png\" alt=\"Kernels of {E(conv.Name)}\"></p>");
        }
        if (pictures.Contains("rbf-bitmaps.png"))
            h.Append("<h2>RBF output</h2><p class=\"muted\">The output layer of lenet5-1998 compares F6 with these fixed ±1 bitmaps; the closest one wins (LeCun et al. 1998, Fig. 3).</p><img class=\"plot\" src=\"rbf-bitmaps.png\" alt=\"The 7x12 RBF bitmaps\">");
        h.Append("</body></html>\n");
        return h.ToString();
    }


    static IEnumerable<ModelReport> Models(ModelReport main, ModelReport? other) => other is null ? [main] : [main, other];

    static IEnumerable<(ModelReport, string)> Prefixed(ModelReport main, ModelReport? other) =>
        other is null ? [(main, "")] : [(main, ""), (other, "compare-")];
}
