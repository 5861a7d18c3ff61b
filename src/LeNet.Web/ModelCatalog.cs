// The models a server offers: the ones shipped inside this assembly (trained by `lenet train`), or
// the files given with --model. Networks are read-only after loading, so requests share them.
using System.Reflection;
using System.Text.Json.Nodes;
using LeNet.Models;

namespace LeNet.Web;

public sealed record ServedModel(string Name, string Source, Network Network, JsonObject Metadata)
{
    public double? TestAccuracy => Metadata["testAccuracy"] is JsonValue v && v.TryGetValue(out double a) ? a : null;
}

public sealed class ModelCatalog
{
    readonly List<ServedModel> _models = [];

    public IReadOnlyList<ServedModel> Models => _models;
    public ServedModel Default => _models[0];

    public ServedModel? Find(string? name) =>
        string.IsNullOrEmpty(name) ? Default : _models.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The models that ship with LeNet.NET: lenet5 first, then the others by name.</summary>
    public static ModelCatalog Shipped()
    {
        var catalog = new ModelCatalog();
        foreach (var name in PretrainedModels.Names) catalog.Add(name, "built-in", PretrainedModels.Read(name));
        if (catalog._models.Count == 0) throw new LeNetException("This build of LeNet ships no models; pass --model FILE.");
        return catalog;
    }

    /// <summary>Model files given by the user; the first is the default. Names are the file names without extension.</summary>
    public static ModelCatalog FromFiles(IEnumerable<string> paths)
    {
        var catalog = new ModelCatalog();
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new InvalidModelFileException($"{path}: model file not found.");
            catalog.Add(Path.GetFileNameWithoutExtension(path), path, ModelFile.Read(path));
        }
        if (catalog._models.Count == 0) throw new LeNetException("No model files given.");
        return catalog;
    }

    void Add(string name, string source, ModelFileContents contents)
    {
        string unique = name;
        for (int i = 2; _models.Any(m => string.Equals(m.Name, unique, StringComparison.OrdinalIgnoreCase)); i++) unique = $"{name}-{i}";
        _models.Add(new ServedModel(unique, source, ModelFile.ToNetwork(contents, source), contents.Metadata));
    }
}
