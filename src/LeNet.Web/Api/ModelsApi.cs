// GET /api/models: the models this server offers. GET /api/models/{name}: one model's summary (the
// JSON of `lenet summary --json`) with its convolution kernels and, for lenet5-1998, the RBF bitmaps.
using System.Text.Json;
using System.Text.Json.Nodes;
using LeNet.Layers;
using LeNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LeNet.Web.Api;

public sealed record ModelInfo(string Name, string Architecture, int Parameters, long Connections, double? TestAccuracy, string Source, bool Default);

/// <summary>One convolution layer's kernels: Kernels[outMap][inMap] holds k·k weights row by row, null where the connection table leaves the pair out.</summary>
public sealed record ConvKernels(string Layer, int[] Shape, float[]?[][] Kernels, float[] Bias);

public static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/models", (ModelCatalog catalog) => Results.Json(catalog.Models.Select(m => Info(m, catalog)).ToArray()));
        api.MapGet("/models/{name}", (string name, ModelCatalog catalog) =>
        {
            var m = catalog.Find(name);
            return m is null ? PredictApi.UnknownModel(catalog, name) : Results.Text(Details(m).ToJsonString(), "application/json");
        });
        // The model itself, to keep a model trained from the page: .lenet for lenet, .onnx for anything else.
        api.MapGet("/models/{name}/file", (string name, ModelCatalog catalog) =>
        {
            var m = catalog.Find(name);
            return m is null ? PredictApi.UnknownModel(catalog, name)
                : Results.File(ModelFile.ToBytes(m.Network, m.Metadata), "application/octet-stream", $"{m.Name}{ModelFile.Extension}");
        });
        api.MapGet("/models/{name}/onnx", (string name, ModelCatalog catalog) =>
        {
            var m = catalog.Find(name);
            return m is null ? PredictApi.UnknownModel(catalog, name)
                : Results.File(LeNet.Interop.OnnxExport.ToBytes(m.Network), "application/octet-stream", $"{m.Name}.onnx");
        });
        return api;
    }

    static ModelInfo Info(ServedModel m, ModelCatalog catalog)
    {
        var s = ModelSummary.Of(m.Network);
        return new ModelInfo(m.Name, s.Architecture, s.Parameters, s.Connections, m.TestAccuracy, m.Source, ReferenceEquals(m, catalog.Default));
    }

    internal static JsonObject Details(ServedModel m)
    {
        var json = ModelSummary.Of(m.Network).ToJson();
        json["name"] = m.Name;
        json["testAccuracy"] = m.TestAccuracy;
        json["metadata"] = m.Metadata.DeepClone();
        var kernels = m.Network.Layers.OfType<Conv2d>().Select(c => Kernels(m.Network, c)).ToArray();
        json["kernels"] = JsonSerializer.SerializeToNode(kernels, JsonSerializerOptions.Web);
        var rbf = m.Network.Layers.OfType<RbfOutput>().FirstOrDefault();
        if (rbf is not null)
        {
            var centres = RbfOutput.Centres.ToArray();
            json["rbfBitmaps"] = new JsonObject
            {
                ["width"] = RbfOutput.BitmapWidth,
                ["height"] = RbfOutput.BitmapHeight,
                ["digits"] = new JsonArray(Enumerable.Range(0, 10).Select(d =>
                    (JsonNode)new JsonArray(centres.AsSpan(d * RbfOutput.Units, RbfOutput.Units).ToArray().Select(v => (JsonNode)JsonValue.Create(v)).ToArray())).ToArray()),
            };
        }
        return json;
    }

    internal static ConvKernels Kernels(Network network, Conv2d conv)
    {
        var p = network.ParametersOf(conv);
        int cout = conv.OutputShape.C, cin = conv.InputShape.C, k = conv.KernelSize;
        var kernels = new float[]?[cout][];
        for (int co = 0; co < cout; co++)
        {
            kernels[co] = new float[]?[cin];
            for (int ci = 0; ci < cin; ci++)
            {
                var w = conv.Kernel(p, co, ci);
                kernels[co][ci] = w.IsEmpty ? null : w.ToArray();
            }
        }
        return new ConvKernels(conv.Name, [cout, cin, k, k], kernels, p.Slice(conv.ParameterCount - cout, cout).ToArray());
    }
}
