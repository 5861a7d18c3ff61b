// The trained models that ship with the library, by name, so an app, the tool and the web app can use
// them without a file: the small ones (lenet5, lenet5-1998) inside the assembly; larger ones
// (cnn-bn, 3.5 MB) as files in a models folder beside it, which a build from the repository has and
// the packages leave out to stay small.

namespace LeNet.Models;

public static class PretrainedModels
{
    /// <summary>The default: the modern LeNet-5.</summary>
    public const string Default = "lenet5";

    const string Folder = "models";

    // name → the embedded resource's name, or null for a file in the models folder.
    static readonly Dictionary<string, string?> Sources = Find();

    static Dictionary<string, string?> Find()
    {
        var sources = typeof(PretrainedModels).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Folder + "/", StringComparison.Ordinal) && n.EndsWith(ModelFile.Extension, StringComparison.Ordinal))
            .ToDictionary(n => Path.GetFileNameWithoutExtension(n), n => (string?)n, StringComparer.OrdinalIgnoreCase);
        string folder = Path.Combine(AppContext.BaseDirectory, Folder);
        if (Directory.Exists(folder))
            foreach (var file in Directory.EnumerateFiles(folder, "*" + ModelFile.Extension))
                sources.TryAdd(Path.GetFileNameWithoutExtension(file), null);
        return sources;
    }

    /// <summary>The built-in models' names, lenet5 first.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Sources.Keys.OrderBy(n => n == Default ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal)];

    /// <summary>The file contents (architecture, weights, training metadata) of a built-in model.</summary>
    public static ModelFileContents Read(string name)
    {
        if (!Sources.TryGetValue(name, out var resource))
            throw new LeNetException($"There is no built-in model '{name}'. Built-in models: {string.Join(", ", Names)}.");
        if (resource is null) return ModelFile.Read(Path.Combine(AppContext.BaseDirectory, Folder, name + ModelFile.Extension));
        using var stream = typeof(PretrainedModels).Assembly.GetManifestResourceStream(resource)!;
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return ModelFile.Parse(ms.ToArray(), name);
    }

    /// <summary>The modern LeNet-5 (99.4% on MNIST's test set), calibrated for photos; a new copy on each call.</summary>
    public static Network LeNet5 => Load("lenet5");

    /// <summary>The 1998 LeNet-5 with its RBF output (99.4%); a new copy on each call.</summary>
    public static Network LeNet5Classic => Load("lenet5-1998");

    /// <summary>A built-in model, ready to predict.</summary>
    public static Network Load(string name) => ModelFile.ToNetwork(Read(name), name);

    /// <summary>The model in a .lenet file, or the built-in model of that name when there is no such file.</summary>
    public static Network Resolve(string nameOrPath)
    {
        if (!File.Exists(nameOrPath) && Sources.ContainsKey(nameOrPath)) return Load(nameOrPath);
        if (!File.Exists(nameOrPath))
            throw new InvalidModelFileException($"Model file not found: {nameOrPath} (built-in models: {string.Join(", ", Names)}).");
        return ModelFile.Load(nameOrPath);
    }
}
