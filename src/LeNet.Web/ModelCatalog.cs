// The models a server offers: the ones shipped inside this assembly (trained by `lenet train`), or
// the files given with --model, and the models trained from the page (TrainingRuns), which join
// while the server runs. Networks are read-only once listed, so requests share them.
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
    /// <summary>Models trained from the page that are kept; beyond this the oldest is dropped.</summary>
    public const int MaxTrained = 8;
    public const string TrainedSource = "trained here";

    readonly object _lock = new();
    List<ServedModel> _models = [];   // replaced, never changed in place: readers take it without the lock

    public IReadOnlyList<ServedModel> Models => _models;
    public ServedModel Default => _models[0];

    public ServedModel? Find(string? name) =>
        string.IsNullOrEmpty(name) ? Default : _models.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Lists a model trained while the server runs, under <paramref name="name"/> (made unique); the
    /// oldest such model goes when there are more than <see cref="MaxTrained"/>.
    /// </summary>
    public ServedModel AddTrained(string name, Network network, JsonObject metadata)
    {
        lock (_lock)
        {
            var models = new List<ServedModel>(_models);
            var model = new ServedModel(Unique(models, name), TrainedSource, network, metadata);
            models.Add(model);
            var trained = models.Where(m => m.Source == TrainedSource).ToList();
            if (trained.Count > MaxTrained) models.Remove(trained[0]);
            _models = models;
            return model;
        }
    }

    static string Unique(List<ServedModel> models, string name)
    {
        string unique = name;
        for (int i = 2; models.Any(m => string.Equals(m.Name, unique, StringComparison.OrdinalIgnoreCase)); i++) unique = $"{name}-{i}";
        return unique;
    }

    /// <summary>The models that ship with LeNet.NET: lenet5 first, then the others by name.</summary>
    public static ModelCatalog Shipped()
    {
        var catalog = new ModelCatalog();
        foreach (var name in PretrainedModels.Names) catalog.Add(name, "built-in", PretrainedModels.Read(name));
        if (catalog._models.Count == 0) throw new LeNetException("This build of LeNet ships no models; pass --model FILE.");
        return catalog;
    }

    /// <summary>Model files given by the user, or built-in models by name; the first is the default. Names are the file names without extension.</summary>
    public static ModelCatalog FromFiles(IEnumerable<string> paths)
    {
        var catalog = new ModelCatalog();
        foreach (var path in paths)
        {
            if (!File.Exists(path) && PretrainedModels.Names.Contains(path, StringComparer.OrdinalIgnoreCase))
            {
                catalog.Add(path, "built-in", PretrainedModels.Read(path));
                continue;
            }
            if (!File.Exists(path)) throw new InvalidModelFileException($"{path}: model file not found (built-in models: {string.Join(", ", PretrainedModels.Names)}).");
            catalog.Add(Path.GetFileNameWithoutExtension(path), path, ModelFile.Read(path));
        }
        if (catalog._models.Count == 0) throw new LeNetException("No model files given.");
        return catalog;
    }

    void Add(string name, string source, ModelFileContents contents) =>
        _models.Add(new ServedModel(Unique(_models, name), source, ModelFile.ToNetwork(contents, source), contents.Metadata));
}
