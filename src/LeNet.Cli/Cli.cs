// Shared plumbing for commands: error handling, the data option, output helpers.
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeNet;
using LeNet.Data;

namespace LeNet.Cli;

public static class Cli
{
    public const int Ok = 0, Failed = 1, Usage = 2, Interrupted = 130;

    /// <summary>The tool's name as users type it (the assembly is LeNet.Cli, the installed command lenet).</summary>
    public const string Name = "lenet";

    public static int Run(RootCommand root, string[] args)
    {
        RequirePaths(root);
        foreach (var option in root.Options)
            if (option is VersionOption) option.Aliases.Add("-v");
        // Bare `lenet` shows what it can do rather than an error.
        var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parse.Errors.Count > 0)
        {
            // A mistyped word makes the parser complain about it, about every word after it and about
            // the missing command: the first complaint, with a suggestion, says it all.
            var errors = parse.Errors.Where(e => e.Message.StartsWith("Unrecognized command or argument")).Take(1).ToList();
            if (errors.Count == 0) errors = parse.Errors.ToList();
            foreach (var e in errors)
            {
                Console.Error.WriteLine($"error: {PlainWords(e.Message, parse.CommandResult.Command)}");
                if (DidYouMean(e.Message, parse.CommandResult.Command) is { } suggestion) Console.Error.WriteLine($"Did you mean '{suggestion}'?");
            }
            Console.Error.WriteLine($"Run '{Name} --help' or '{Name} <command> --help' for usage.");
            return Usage;
        }
        try
        {
            if (parse.Action is System.CommandLine.Help.HelpAction)
            {
                // Help names the command as it is installed, not after the assembly.
                var help = new StringWriter();
                int code = parse.Invoke(new InvocationConfiguration { Output = help });
                Console.Out.Write(help.ToString().Replace(RootCommand.ExecutableName, Name));
                return code;
            }
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

    /// <summary>
    /// For "Unrecognized command or argument 'trian'": the command's subcommand or option nearest to
    /// the word (at most two edits away, or a unique prefix), or null.
    /// </summary>
    public static string? DidYouMean(string message, Command command)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Unrecognized command or argument '(?<word>[^']+)'");
        if (!m.Success) return null;
        string word = m.Groups["word"].Value;
        var names = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)
            .Concat(command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)))
            .Where(n => n.StartsWith('-') == word.StartsWith('-')).Distinct().ToList();
        var best = names.Select(n => (Name: n, Distance: Edits(word.ToLowerInvariant(), n))).OrderBy(x => x.Distance).FirstOrDefault();
        if (best.Name is not null && best.Distance <= Math.Min(2, Math.Max(1, word.TrimStart('-').Length / 3))) return best.Name;
        var prefixed = names.Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase)).ToList();
        return word.TrimStart('-').Length >= 2 && prefixed.Count == 1 ? prefixed[0] : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours.</summary>
    static int Edits(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
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
    public static string PlainWords(string message, Command? command = null)
    {
        var missing = System.Text.RegularExpressions.Regex.Match(message, @"^Required argument missing for (?<kind>option|command): '(?<name>[^']+)'");
        if (missing.Success)
        {
            if (missing.Groups["kind"].Value == "option") return $"{missing.Groups["name"].Value} needs a value.";
            var argument = command?.Arguments.FirstOrDefault();
            string what = argument is null ? "an argument" : $"its {argument.HelpName ?? argument.Name} argument";
            return $"{Name} {missing.Groups["name"].Value} needs {what}.";
        }
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
        ["Limit"] = "--limit", ["Holdout"] = "--holdout", ["LabelSmoothing"] = "--label-smoothing", ["Optimizer"] = "--optimizer", ["Fast"] = "--fast",
        ["WeightDecay"] = "--weight-decay", ["ElasticAlpha"] = "--elastic-alpha", ["ElasticSigma"] = "--elastic-sigma", ["Ema"] = "--ema",
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
        Description = "Folder with the four MNIST-format IDX files (.gz or raw), e.g. Fashion-MNIST. Default: the MNIST copy built into the tool.",
        HelpName = "DIR",
    };

    public static Option<int> HoldoutOption() => new("--holdout")
    {
        Description = "Score the last N training images instead of the test set: the images that `lenet train --holdout N` kept out of training, so models can be compared without looking at the test set. Default: 0 (the test set).",
        HelpName = "N",
    };

    /// <summary>The images to score: the test set, or with holdout N the last N training images.</summary>
    public static (MnistDataset Images, string Name) ScoredImages(string? data, int holdout)
    {
        if (holdout == 0) return (MnistDataset.LoadOrEmbedded(data, train: false), "test");
        if (holdout < 0) throw new InvalidOptionException("Holdout", $"must not be negative (got {holdout})");
        var train = MnistDataset.LoadOrEmbedded(data, train: true);
        if (holdout >= train.Count) throw new InvalidOptionException("Holdout", $"must be below the {train.Count:N0} training images (got {holdout:N0})");
        return (train.Skip(train.Count - holdout), "held-out");
    }

    public static Option<bool> JsonOption(string what) => new("--json") { Description = $"Print {what} as one JSON document on stdout." };

    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
}
