// `lenet predict [--model FILE|NAME] IMAGE_OR_DIR... [--top K] [--single] [--json]`: reads every digit
// in each image, left to right (LeNet.Reading.DigitReader), and prints the number with each digit's
// confidence, marking what it is unsure of:
//   photo.jpg: 2026  (2 99.1%, 0 98.0%, 2 97.5%, 6 99.9%)
//   seven.png: 7 (58.0%, unsure)  1 (30.2%)  2 (5.1%)  unsure: low confidence
// One digit gets the top K guesses. --single reads all the ink as one digit. A file that fails is
// reported by name, the others are still read, and the exit code is non-zero if any failed.
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using LeNet.Models;
using LeNet.Reading;

namespace LeNet.Cli.Commands;

public static class PredictCommand
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"A .lenet model file, or a built-in model: {string.Join(", ", PretrainedModels.Names)}.", DefaultValueFactory = _ => PretrainedModels.Default, HelpName = "FILE|NAME" };
        var inputs = new Argument<string[]>("IMAGE_OR_DIR") { Description = "Image files (PNG, JPEG, BMP, GIF, WebP) or folders of them.", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { Description = "How many guesses to show for an image of one digit (1–10).", DefaultValueFactory = _ => 3, HelpName = "K" };
        top.Validators.Add(r => { if (r.GetValue(top) is < 1 or > 10) r.AddError("--top must be between 1 and 10."); });
        var single = new Option<bool>("--single") { Description = "Read all the ink in an image as one digit, instead of finding every digit in it." };
        var json = Cli.JsonOption("[{file, number, digit, probabilities, uncertain, reason, digits: [{digit, probabilities, box: [x, y, w, h] in the image's pixels, uncertain, reason}…]}…] (digit and probabilities: the first digit's; {file, error} for a failed file)");
        var cmd = new Command("predict", "Read handwritten digits and numbers from image files (photos of paper, scans, drawings), saying where it is unsure.") { model, inputs, top, single, json };
        cmd.SetAction(r =>
        {
            var reader = new DigitReader(PretrainedModels.Resolve(r.GetValue(model)!));
            var files = Expand(r.GetValue(inputs)!, out var missing);
            int k = r.GetValue(top);
            bool asJson = r.GetValue(json), one = r.GetValue(single);
            var results = new JsonArray();
            int failed = 0;
            foreach (var m in missing)
            {
                failed++;
                Report(m, null, $"{m}: no such file or folder");
            }
            foreach (var file in files)
            {
                try { Report(file, reader.Read(file, one), null); }
                catch (LeNetException e)
                {
                    failed++;
                    Report(file, null, e.Message);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    failed++;
                    Report(file, null, $"{file}: {e.Message}");
                }
            }
            if (asJson) Cli.WriteJson(results);
            if (files.Count == 0 && missing.Count == 0) { Console.Error.WriteLine("error: no image files found."); return Cli.Failed; }
            return failed > 0 ? Cli.Failed : Cli.Ok;

            void Report(string file, Reading.Reading? reading, string? error)
            {
                if (asJson) { results.Add(reading is null ? new JsonObject { ["file"] = file, ["error"] = error } : ToJson(file, reading)); return; }
                if (reading is null) { Console.Error.WriteLine($"error: {error}"); return; }
                Console.WriteLine($"{file}: {Describe(reading, k)}");
            }
        });
        return cmd;
    }

    /// <summary>One line: the top K guesses for one digit, or the number and each digit's confidence.</summary>
    public static string Describe(Reading.Reading reading, int k)
    {
        static string Percent(float p) => (p * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";
        string doubt = reading.Uncertain ? $"  unsure: {reading.Reason}" : "";
        if (reading.Digits.Count == 1)
        {
            var d = reading.Digits[0];
            var best = Enumerable.Range(0, d.Probabilities.Length).OrderByDescending(i => d.Probabilities[i]).Take(k).ToList();
            return string.Join("  ", best.Select((i, n) => n == 0 && d.Uncertain
                ? $"{i} ({Percent(d.Probabilities[i])}, unsure)"
                : $"{i} ({Percent(d.Probabilities[i])})")) + doubt;
        }
        return $"{reading.Number}  (" + string.Join(", ", reading.Digits.Select(d => $"{d.Digit} {Percent(d.Confidence)}{(d.Uncertain ? " unsure" : "")}")) + ")" + doubt;
    }

    public static JsonObject ToJson(string file, Reading.Reading reading)
    {
        var first = reading.Digits[0];
        var o = new JsonObject
        {
            ["file"] = file,
            ["number"] = reading.Number,
            ["digit"] = first.Digit,
            ["probabilities"] = Probabilities(first.Probabilities),
            ["uncertain"] = reading.Uncertain,
        };
        if (reading.Reason is not null) o["reason"] = reading.Reason;
        o["digits"] = new JsonArray(reading.Digits.Select(d =>
        {
            var digit = new JsonObject
            {
                ["digit"] = d.Digit,
                ["probabilities"] = Probabilities(d.Probabilities),
                ["box"] = new JsonArray(d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height),
                ["uncertain"] = d.Uncertain,
            };
            if (d.Reason is not null) digit["reason"] = d.Reason;
            return (JsonNode)digit;
        }).ToArray());
        return o;
    }

    static JsonArray Probabilities(float[] p) => new(p.Select(v => (JsonNode)JsonValue.Create(Math.Round(v, 6))).ToArray());

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
