// `lenet selfcheck [--json]`: every kernel at every vector width this machine accelerates, against
// its scalar reference. Shows which kernels run here (e.g. V128 on ARM64) and that they are right.
using System.Globalization;
using System.Text.Json.Nodes;
using System.CommandLine;
using LeNet.Kernels;
using LeNet.Models;

namespace LeNet.Cli.Commands;

public static class SelfCheckCommand
{
    public static Command Create()
    {
        var json = Cli.JsonOption("the results");
        var cmd = new Command("selfcheck", "Check every compute kernel at every vector width this machine has against its scalar reference.") { json };
        cmd.SetAction(r =>
        {
            var results = KernelCheck.Run();
            bool ok = results.All(c => c.Passed);
            if (r.GetValue(json))
            {
                Cli.WriteJson(new JsonObject
                {
                    ["kernels"] = Network.KernelWidth,
                    ["passed"] = ok,
                    ["checks"] = new JsonArray(results.Select(c => (JsonNode)new JsonObject
                    {
                        ["kernel"] = c.Kernel, ["width"] = c.Width.ToString(), ["case"] = c.Case, ["error"] = Cli.Number(c.Error), ["passed"] = c.Passed,
                    }).ToArray()),
                });
                return ok ? Cli.Ok : Cli.Failed;
            }
            Console.WriteLine($"{Network.KernelWidth} kernels ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}); checking every width up to it.");
            foreach (var c in results)
                Console.WriteLine($"  {(c.Passed ? "ok  " : "FAIL")} {c.Width,-6} {c.Kernel,-20} {c.Case,-58} error {c.Error.ToString("G2", CultureInfo.InvariantCulture)}");
            Console.WriteLine(ok ? $"All {results.Count} checks passed." : $"{results.Count(c => !c.Passed)} of {results.Count} checks failed.");
            return ok ? Cli.Ok : Cli.Failed;
        });
        return cmd;
    }
}
