// `lenet report --model FILE [--log run.csv] [--compare OTHER] [--image DIGIT.png] --out DIR`:
// a page of pictures about a model (and, with --compare, a second one side by side).
using LeNet.Models;
using System.CommandLine;
using LeNet.Data;
using LeNet.Reports;

namespace LeNet.Cli.Commands;

public static class ReportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"The model to report on: a .lenet file, or a built-in model: {string.Join(", ", PretrainedModels.Names)}.", DefaultValueFactory = _ => PretrainedModels.Default, HelpName = "FILE|NAME" };
        var log = new Option<string?>("--log") { Description = "The metrics log of its training (lenet train --log), for the training curves.", HelpName = "FILE.csv" };
        var compare = new Option<string?>("--compare") { Description = "A second model to show side by side, with the difference in accuracy per digit.", HelpName = "FILE" };
        var image = new Option<string?>("--image") { Description = "A digit image for the feature maps. Default: the first test image.", HelpName = "FILE" };
        var output = new Option<string>("--out") { Description = "Folder to write index.html and the PNG pictures to (created if missing).", Required = true, HelpName = "DIR" };
        var data = Cli.DataOption();
        var cmd = new Command("report", "Write an HTML report with pictures: training curves, confusion matrix, mistakes, feature maps, kernels.")
        {
            model, log, compare, image, output, data,
        };
        cmd.SetAction(r =>
        {
            var test = MnistDataset.LoadOrEmbedded(r.GetValue(data), train: false);
            var result = Write(new ReportOptions
            {
                ModelPath = r.GetValue(model)!,
                LogPath = r.GetValue(log),
                ComparePath = r.GetValue(compare),
                ImagePath = r.GetValue(image),
                OutDir = r.GetValue(output)!,
                TestSet = test,
            });
            return result is null ? Cli.Failed : Cli.Ok;
        });
        return cmd;
    }

    /// <summary>Writes the report, printing what it does; used by `report` and `train --report`.</summary>
    public static ReportResult? Write(ReportOptions options)
    {
        // Models may also be built-in names (PretrainedModels.Resolve checks them); the other inputs are files.
        foreach (var path in new[] { options.ModelPath, options.ComparePath })
            if (path is not null && !File.Exists(path) && !PretrainedModels.Names.Contains(path, StringComparer.OrdinalIgnoreCase))
                throw new LeNetException($"{path}: file not found (built-in models: {string.Join(", ", PretrainedModels.Names)}).");
        foreach (var path in new[] { options.LogPath, options.ImagePath })
            if (path is not null && !File.Exists(path)) throw new LeNetException($"{path}: file not found.");
        var result = Report.Write(options, step => Console.WriteLine(step + "…"));
        Console.WriteLine($"Report written to {result.IndexPath} ({result.Pictures.Count} pictures)");
        return result;
    }
}
