// A Keras-like summary: per layer its output shape, trainable parameters and connections
// (multiply-adds with biases counted once, as in the 1998 paper), with totals.
using System.Text.Json.Nodes;
using LeNet.Layers;

namespace LeNet.Models;

public sealed record LayerSummary(string Name, string Kind, string Details, Shape OutputShape, int Parameters, int FixedParameters, long Connections,
    LayerWindow? Window = null, int Statistics = 0);

/// <summary>
/// The square window of the layer before that one unit of a convolution or pooling layer sees: unit
/// (x, y) reads rows and columns from y·Stride − Pad and x·Stride − Pad, Size of each.
/// </summary>
public sealed record LayerWindow(int Size, int Stride, int Pad)
{
    public static LayerWindow? Of(Layer layer) => layer switch
    {
        Conv2d c => new(c.KernelSize, 1, c.Padding == Padding.Same ? (c.KernelSize - 1) / 2 : 0),
        MaxPool2d m => new(m.Size, m.Size, 0),
        AvgPool2d a => new(a.Size, a.Size, 0),
        Subsampling s => new(s.Size, s.Size, 0),
        _ => null,
    };
}

public sealed record ModelSummary(string Architecture, Shape InputShape, IReadOnlyList<LayerSummary> Layers)
{
    public int Parameters => Layers.Sum(l => l.Parameters);
    public int FixedParameters => Layers.Sum(l => l.FixedParameters);
    /// <summary>Of <see cref="Parameters"/>, the batch statistics (Keras's non-trainable parameters).</summary>
    public int Statistics => Layers.Sum(l => l.Statistics);
    public long Connections => Layers.Sum(l => l.Connections);

    public static ModelSummary Of(Network network) => new(
        network.Spec.ToString(),
        network.InputShape,
        network.Layers.Select(l => new LayerSummary(l.Name, l.Kind, l.Details, l.OutputShape, l.ParameterCount,
            l.FixedParameterCount, l.Connections, LayerWindow.Of(l), l.StatisticsCount)).ToList());

    /// <summary>{"layers":[{"name","kind","outputShape","parameters","statistics","connections","window"}…], "parameters", "statistics", "connections"}.</summary>
    public JsonObject ToJson()
    {
        var layers = new JsonArray();
        foreach (var l in Layers)
            layers.Add(new JsonObject
            {
                ["name"] = l.Name,
                ["kind"] = l.Kind,
                ["outputShape"] = new JsonArray(l.OutputShape.C, l.OutputShape.H, l.OutputShape.W),
                ["parameters"] = l.Parameters,
                ["fixedParameters"] = l.FixedParameters,
                ["statistics"] = l.Statistics,
                ["connections"] = l.Connections,
                ["window"] = l.Window is { } w ? new JsonObject { ["size"] = w.Size, ["stride"] = w.Stride, ["pad"] = w.Pad } : null,
            });
        return new JsonObject
        {
            ["architecture"] = Architecture,
            ["inputShape"] = new JsonArray(InputShape.C, InputShape.H, InputShape.W),
            ["layers"] = layers,
            ["parameters"] = Parameters,
            ["fixedParameters"] = FixedParameters,
            ["statistics"] = Statistics,
            ["connections"] = Connections,
        };
    }
}
