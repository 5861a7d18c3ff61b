// The trained models that ship inside the library (models/*.lenet, trained with `lenet train`), by
// name, so an app, the tool and the web app can use them without a file: lenet5 and lenet5-1998.

namespace LeNet.Models;

public static class PretrainedModels
{
    /// <summary>The default: the modern LeNet-5.</summary>
    public const string Default = "lenet5";

    static readonly Dictionary<string, string> Resources = typeof(PretrainedModels).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("models/", StringComparison.Ordinal) && n.EndsWith(ModelFile.Extension, StringComparison.Ordinal))
        .ToDictionary(n => Path.GetFileNameWithoutExtension(n), n => n, StringComparer.OrdinalIgnoreCase);

    /// <summary>The built-in models' names, lenet5 first.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Resources.Keys.OrderBy(n => n == Default ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal)];

    /// <summary>The file contents (architecture, weights, training metadata) of a built-in model.</summary>
    public static ModelFileContents Read(string name)
    {
        if (!Resources.TryGetValue(name, out var resource))
            throw new LeNetException($"There is no built-in model '{name}'. Built-in models: {string.Join(", ", Names)}.");
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
        if (!File.Exists(nameOrPath) && Resources.ContainsKey(nameOrPath)) return Load(nameOrPath);
        if (!File.Exists(nameOrPath))
            throw new InvalidModelFileException($"Model file not found: {nameOrPath} (built-in models: {string.Join(", ", Names)}).");
        return ModelFile.Load(nameOrPath);
    }
}
