// `lenet eval --model FILE [--data DIR] [--holdout N] [--wrong DIR] [--json]`: test-set accuracy (or
// that of the last N training images), loss, per-class accuracy and the confusion matrix; optionally
// saves every misclassified digit.
using System.CommandLine;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Models;
using LeNet.Training;
using Spectre.Console;

namespace LeNet.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"The model to evaluate: a .lenet file, or a built-in model: {string.Join(", ", PretrainedModels.Names)}.", DefaultValueFactory = _ => PretrainedModels.Default, HelpName = "FILE|NAME" };
        var data = Cli.DataOption();
        var wrong = new Option<string?>("--wrong") { Description = "Save each misclassified image (of the test set, or of the held-out images with --holdout) as DIR/<true>/<pred>_<index>.png.", HelpName = "DIR" };
        var holdout = Cli.HoldoutOption();
        var json = Cli.JsonOption("accuracy, loss, perClass and confusion");
        var cmd = new Command("eval", "Evaluate a model on the test set: accuracy, loss, per-class accuracy, confusion matrix.") { model, data, holdout, wrong, json };
        cmd.SetAction(r =>
        {
            var network = PretrainedModels.Resolve(r.GetValue(model)!);
            var (test, scored) = Cli.ScoredImages(r.GetValue(data), r.GetValue(holdout));
            var result = Evaluator.Evaluate(network, test);
            string? wrongDir = r.GetValue(wrong);
            int saved = wrongDir is null ? 0 : DigitImages.SaveMisclassified(test, result.Predictions, wrongDir);
            if (r.GetValue(json))
            {
                Cli.WriteJson(new JsonObject
                {
                    ["accuracy"] = Cli.Number(result.Accuracy),
                    ["loss"] = Cli.Number(result.Loss),
                    ["perClass"] = new JsonArray(result.PerClass.Select(Cli.Number).ToArray()),
                    ["confusion"] = new JsonArray(result.Confusion.Select(row => (JsonNode)new JsonArray(row.Select(v => (JsonNode)v).ToArray())).ToArray()),
                    ["count"] = result.Count,
                });
                return Cli.Ok;
            }
            Console.WriteLine($"{(scored == "test" ? "Test" : "Held-out")} accuracy {result.Accuracy:P2} ({result.Count - result.Errors:N0}/{result.Count:N0}), loss {result.Loss:F4}");
            var table = new Table().Border(TableBorder.Simple).Collapse().Title("Confusion matrix (rows: true digit, columns: guess)");
            table.AddColumn("true");
            for (int c = 0; c < 10; c++) table.AddColumn(new TableColumn(c.ToString()).RightAligned());
            table.AddColumn(new TableColumn("acc %").RightAligned());
            for (int t = 0; t < 10; t++)
            {
                var cells = new List<string> { t.ToString() };
                for (int p = 0; p < 10; p++)
                {
                    int v = result.Confusion[t][p];
                    cells.Add(t == p ? $"[green]{v}[/]" : v == 0 ? "[grey].[/]" : $"[red]{v}[/]");
                }
                cells.Add(double.IsNaN(result.PerClass[t]) ? "-" : $"{result.PerClass[t] * 100:F2}");
                table.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(table);
            if (wrongDir is not null) Console.WriteLine($"Saved {saved:N0} misclassified images under {wrongDir}");
            return Cli.Ok;
        });
        return cmd;
    }
}
