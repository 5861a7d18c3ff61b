// Shared plumbing for commands: error handling, the data option, output helpers.
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeNet;

namespace LeNet.Cli;

public static class Cli
{
    public const int Ok = 0, Failed = 1, Usage = 2, Interrupted = 130;

    public static int Run(RootCommand root, string[] args)
    {
        RequirePaths(root);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {PlainWords(e.Message)}");
            Console.Error.WriteLine("Run 'lenet --help' or 'lenet <command> --help' for usage.");
            return Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (LeNetException e)
        {
            Console.Error.WriteLine($"error: {Message(e)}");
            return Failed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A path that cannot be read or written: missing, a file where a folder should be, read-only, a full disk.
            Console.Error.WriteLine($"error: {e.Message}");
            return Failed;
        }
        catch (OutOfMemoryException)
        {
            Console.Error.WriteLine("error: out of memory; try a smaller --batch or --limit.");
            return Failed;
        }
    }

    /// <summary>Every option that takes a file or folder (its help name says so) refuses an empty path at parse time.</summary>
    static void RequirePaths(Command command)
    {
        foreach (var option in command.Options)
            if (option is Option<string> path && option.HelpName is { } help && (help.Contains("FILE") || help.Contains("DIR") || help.StartsWith("OUT")))
                path.Validators.Add(r =>
                {
                    if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.GetValueOrDefault<string>()))
                        r.AddError($"{option.Name} needs a path, not an empty string.");
                });
        foreach (var sub in command.Subcommands) RequirePaths(sub);
    }

    /// <summary>A parse error without .NET type names: "Cannot parse argument 'abc' for option '--epochs' as expected type 'System.Nullable`1[System.Int32]'" → "--epochs takes a whole number (got 'abc')."</summary>
    public static string PlainWords(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(?<value>.*)' for (option|argument) '(?<name>[^']+)' as expected type '(?<type>[^']+)'");
        if (!m.Success) return message;
        string type = m.Groups["type"].Value;
        string kind = type.Contains("Int32") || type.Contains("Int64") || type.Contains("UInt64") ? "a whole number"
            : type.Contains("Single") || type.Contains("Double") ? "a number"
            : type.Contains("Boolean") ? "true or false" : "a value of another kind";
        return $"{m.Groups["name"].Value} takes {kind} (got '{m.Groups["value"].Value}').";
    }

    /// <summary>The command-line option for each training option the library validates.</summary>
    static readonly Dictionary<string, string> OptionFlags = new()
    {
        ["Epochs"] = "--epochs", ["BatchSize"] = "--batch", ["LearningRate"] = "--lr", ["Threads"] = "--threads",
        ["Limit"] = "--limit", ["LabelSmoothing"] = "--label-smoothing", ["Optimizer"] = "--optimizer", ["Fast"] = "--fast",
    };

    /// <summary>A library error in the tool's own words: its option names instead of the library's.</summary>
    public static string Message(LeNetException e) => e switch
    {
        InvalidOptionException o when OptionFlags.TryGetValue(o.Option, out var flag) => $"{flag} {o.Requirement}.",
        TrainingDivergedException => e.Message.Replace("try a learning rate of ", "try --lr "),
        _ => e.Message,
    };

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void WriteJson(JsonNode node) => Console.Out.WriteLine(node.ToJsonString(Json));

    /// <summary>JSON number for a double, null when not finite.</summary>
    public static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;

    public static Option<string?> DataOption() => new("--data")
    {
        Description = "Folder with the four MNIST-format IDX files (.gz or raw), e.g. Fashion-MNIST. Default: the MNIST copy built into LeNet.",
        HelpName = "DIR",
    };

    public static Option<bool> JsonOption(string what) => new("--json") { Description = $"Print {what} as one JSON document on stdout." };

    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
}
