// `lenet summary ARCH_OR_MODEL_FILE [--json]`: the layer table of an architecture or a saved model.
using System.CommandLine;
using LeNet.Models;
using Spectre.Console;

namespace LeNet.Cli.Commands;

public static class SummaryCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("ARCH_OR_MODEL_FILE") { Description = $"An architecture ({string.Join(", ", Architectures.Names)}) or a .lenet model file." };
        var json = Cli.JsonOption("the summary");
        var cmd = new Command("summary", "Show each layer's output shape, parameters and connections, with totals.") { target, json };
        cmd.SetAction(r =>
        {
            string t = r.GetValue(target)!;
            var network = File.Exists(t) || t.EndsWith(ModelFile.Extension, StringComparison.OrdinalIgnoreCase) || t.Contains('/')
                ? ModelFile.Load(t)
                : Architectures.Build(Architectures.Default(t));
            var summary = ModelSummary.Of(network);
            if (r.GetValue(json)) { Cli.WriteJson(summary.ToJson()); return Cli.Ok; }
            Print(summary);
            return Cli.Ok;
        });
        return cmd;
    }

    public static void Print(ModelSummary s)
    {
        var table = new Table().Border(TableBorder.Simple).Title($"[bold]{Markup.Escape(s.Architecture)}[/]  input {s.InputShape}");
        table.AddColumn("Layer");
        table.AddColumn("Type");
        table.AddColumn("Output shape");
        table.AddColumn(new TableColumn("Parameters").RightAligned());
        table.AddColumn(new TableColumn("Connections").RightAligned());
        foreach (var l in s.Layers)
        {
            string p = l.FixedParameters > 0 ? $"{l.Parameters:N0} +{l.FixedParameters:N0} fixed" : $"{l.Parameters:N0}";
            string kind = string.IsNullOrEmpty(l.Details) ? l.Kind : $"{l.Kind} {l.Details}";
            table.AddRow(Markup.Escape(l.Name), Markup.Escape(kind), l.OutputShape.ToString(), p, $"{l.Connections:N0}");
        }
        table.AddEmptyRow();
        string total = s.FixedParameters > 0 ? $"{s.Parameters:N0} +{s.FixedParameters:N0} fixed" : $"{s.Parameters:N0}";
        if (s.Statistics > 0) table.Caption($"Parameters include {s.Statistics:N0} batch statistics (mean, variance), set from training images, not trained.");
        table.AddRow("[bold]Total[/]", "", "", $"[bold]{total}[/]", $"[bold]{s.Connections:N0}[/]");
        AnsiConsole.Write(table);
        if (s.Layers.Any(l => l.Kind == "RbfOutput")) PrintBitmaps();
    }

    /// <summary>The fixed RBF centres of the 1998 output layer, digits 0–9 side by side.</summary>
    static void PrintBitmaps()
    {
        Console.WriteLine("RBF centres (7x12 bitmaps, +1 ink, −1 background):");
        var rows = LeNet.Layers.RbfOutput.BitmapRows;
        Console.WriteLine("  " + string.Join("  ", Enumerable.Range(0, 10).Select(d => $"   {d}   ")));
        for (int r = 0; r < LeNet.Layers.RbfOutput.BitmapHeight; r++)
            Console.WriteLine("  " + string.Join("  ", rows.Select(b => b[r].Replace('.', ' ').Replace('#', '█'))));
    }
}
