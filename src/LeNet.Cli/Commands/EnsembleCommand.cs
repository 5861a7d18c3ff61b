// `lenet ensemble MODEL MODEL... --out committee.lenet`: joins trained models into a committee that
// averages their probabilities, evaluates it and each member on the MNIST test set (or, with
// --holdout N, on the last N training images), and writes it as one model file that eval, predict,
// serve and export take like any other.
using System.CommandLine;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Models;
using LeNet.Training;

namespace LeNet.Cli.Commands;

public static class EnsembleCommand
{
    public static Command Create()
    {
        var models = new Argument<string[]>("MODEL")
        {
            Description = $"Two to {Committee.MaxMembers} .lenet model files or built-in models ({string.Join(", ", PretrainedModels.Names)}).",
            Arity = new ArgumentArity(2, Committee.MaxMembers),
        };
        var output = new Option<string>("--out") { Description = "The committee's model file to write.", Required = true, HelpName = "FILE" };
        var data = Cli.DataOption();
        var holdout = Cli.HoldoutOption();
        var cmd = new Command("ensemble", "Join models into a committee that averages their probabilities; print its test accuracy and each member's.")
        {
            models, output, data, holdout,
        };
        cmd.SetAction(r =>
        {
            var names = r.GetValue(models)!;
            var members = names.Select(PretrainedModels.Resolve).ToList();
            var committee = Committee.Join(members);
            var (test, scored) = Cli.ScoredImages(r.GetValue(data), r.GetValue(holdout));
            string key = scored == "test" ? "testAccuracy" : "heldOutAccuracy";
            var memberResults = new JsonArray();
            for (int i = 0; i < members.Count; i++)
            {
                var e = Evaluator.Evaluate(members[i], test);
                Console.WriteLine($"{names[i]}: {e.Accuracy * 100:0.00}% ({members[i].Spec.Name})");
                memberResults.Add(new JsonObject { ["model"] = names[i], ["architecture"] = members[i].Spec.Name, [key] = e.Accuracy });
            }
            var result = Evaluator.Evaluate(committee, test);
            string path = r.GetValue(output)!;
            ModelFile.Save(path, committee, new JsonObject
            {
                ["members"] = memberResults,
                [key] = result.Accuracy,
                [scored == "test" ? "testLoss" : "heldOutLoss"] = result.Loss,
                ["created"] = DateTimeOffset.UtcNow.ToString("o"),
            });
            Console.WriteLine($"Committee of {members.Count}: {result.Accuracy * 100:0.00}% on {test.Count:N0} {scored} images ({(1 - result.Accuracy) * 100:0.00}% error). Saved to {path}");
            return Cli.Ok;
        });
        return cmd;
    }
}
