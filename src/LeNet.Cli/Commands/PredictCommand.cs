// `lenet predict --model FILE IMAGE_OR_DIR... [--top K] [--json]`: reads each image like MNIST's
// digits were made and prints the top guesses. A file that fails is reported by name, the others
// are still predicted, and the exit code is non-zero if any failed.
using System.CommandLine;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Models;
using LeNet.Training;

namespace LeNet.Cli.Commands;

public static class PredictCommand
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"A .lenet model file, or a built-in model: {string.Join(", ", PretrainedModels.Names)}.", DefaultValueFactory = _ => PretrainedModels.Default, HelpName = "FILE|NAME" };
        var inputs = new Argument<string[]>("IMAGE_OR_DIR") { Description = "Image files (PNG, JPEG, BMP, GIF, WebP) or folders of them.", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { Description = "How many guesses to show per image (1–10).", DefaultValueFactory = _ => 3, HelpName = "K" };
        top.Validators.Add(r => { if (r.GetValue(top) is < 1 or > 10) r.AddError("--top must be between 1 and 10."); });
        var json = Cli.JsonOption("[{file, digit, probabilities}…] (or {file, error} for a failed file)");
        var cmd = new Command("predict", "Read handwritten digits from image files: photos of paper, scans, drawings.") { model, inputs, top, json };
        cmd.SetAction(r =>
        {
            var network = PretrainedModels.Resolve(r.GetValue(model)!);
            var files = Expand(r.GetValue(inputs)!, out var missing);
            int k = r.GetValue(top);
            bool asJson = r.GetValue(json);
            var results = new JsonArray();
            int failed = 0;
            foreach (var m in missing)
            {
                failed++;
                Report(m, null, $"{m}: no such file or folder");
            }
            var probabilities = new float[Loss.Classes];
            foreach (var file in files)
            {
                try
                {
                    var digit = DigitPreprocessor.FromFile(file);
                    network.Predict(digit.Pixels28, 1, probabilities, threads: 1);
                    Report(file, probabilities, null);
                }
                catch (LeNetException e)
                {
                    failed++;
                    Report(file, null, e.Message);
                }
            }
            if (asJson) Cli.WriteJson(results);
            if (files.Count == 0 && missing.Count == 0) { Console.Error.WriteLine("error: no image files found."); return Cli.Failed; }
            return failed > 0 ? Cli.Failed : Cli.Ok;

            void Report(string file, float[]? p, string? error)
            {
                if (asJson)
                {
                    results.Add(p is null
                        ? new JsonObject { ["file"] = file, ["error"] = error }
                        : new JsonObject
                        {
                            ["file"] = file,
                            ["digit"] = Array.IndexOf(p, p.Max()),
                            ["probabilities"] = new JsonArray(p.Select(v => (JsonNode)JsonValue.Create(Math.Round(v, 6))).ToArray()),
                        });
                    return;
                }
                if (p is null) { Console.Error.WriteLine($"error: {error}"); return; }
                var best = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).Take(k);
                Console.WriteLine($"{file}: " + string.Join("  ", best.Select(i => $"{i} ({p[i] * 100:F1}%)")));
            }
        });
        return cmd;
    }

    /// <summary>Files as given, and the image files of folders (sorted, not recursive).</summary>
    static List<string> Expand(IEnumerable<string> inputs, out List<string> missing)
    {
        var files = new List<string>();
        missing = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
                files.AddRange(Directory.GetFiles(input)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal));
            else if (File.Exists(input)) files.Add(input);
            else missing.Add(input);
        }
        return files;
    }
}
