// GET /api/models and /api/models/{name}, the page itself, and unknown paths.
using System.Net;
using System.Text.Json;
using LeNet.Models;

namespace LeNet.Web.Tests.Api;

[Collection("server")]
public sealed class ModelsApiTests(ServerFixture server)
{
    HttpClient Client => server.Client;

    [Fact]
    public async Task Models_lists_every_served_model_with_the_default_first()
    {
        // The fixture's two models first; models trained by other tests follow them.
        var models = JsonDocument.Parse(await Client.GetStringAsync("api/models")).RootElement.EnumerateArray()
            .Where(m => m.GetProperty("source").GetString() != ModelCatalog.TrainedSource).ToArray();
        Assert.Equal(["lenet5", "lenet5-1998"], models.Select(m => m.GetProperty("name").GetString()));
        Assert.True(models[0].GetProperty("default").GetBoolean());
        Assert.False(models[1].GetProperty("default").GetBoolean());
        Assert.Equal(61706, models[0].GetProperty("parameters").GetInt32());
        Assert.Equal(60000, models[1].GetProperty("parameters").GetInt32());
        Assert.True(models[0].GetProperty("testAccuracy").GetDouble() > 0.99);
    }

    [Fact]
    public async Task A_model_gives_its_summary_and_kernels()
    {
        var json = JsonDocument.Parse(await Client.GetStringAsync("api/models/lenet5")).RootElement;
        var network = ModelFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "lenet5.lenet"));
        var summary = ModelSummary.Of(network).ToJson();
        Assert.Equal(summary["parameters"]!.GetValue<int>(), json.GetProperty("parameters").GetInt32());
        Assert.Equal(summary["layers"]!.ToJsonString(), json.GetProperty("layers").GetRawText());
        var kernels = json.GetProperty("kernels").EnumerateArray().ToArray();
        Assert.Equal(["conv1", "conv2", "conv3"], kernels.Select(k => k.GetProperty("layer").GetString()));
        Assert.Equal([6, 1, 5, 5], kernels[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var conv1 = (LeNet.Layers.Conv2d)network.Layers[0];
        var w = conv1.Kernel(network.ParametersOf(conv1), 2, 0).ToArray();
        Assert.Equal(w, kernels[0].GetProperty("kernels")[2][0].EnumerateArray().Select(e => e.GetSingle()));
        Assert.Equal(6, kernels[0].GetProperty("bias").GetArrayLength());
    }

    [Fact]
    public async Task The_1998_model_shows_its_connection_table_and_rbf_bitmaps()
    {
        var json = JsonDocument.Parse(await Client.GetStringAsync("api/models/lenet5-1998")).RootElement;
        Assert.Equal(340908, json.GetProperty("connections").GetInt64());
        var c3 = json.GetProperty("kernels").EnumerateArray().Single(k => k.GetProperty("layer").GetString() == "C3");
        var rows = c3.GetProperty("kernels").EnumerateArray().ToArray();
        Assert.Equal(16, rows.Length);
        // Table I: map 0 takes S2 maps 0, 1, 2 only; map 15 takes all six.
        Assert.Equal([false, false, false, true, true, true], rows[0].EnumerateArray().Select(k => k.ValueKind == JsonValueKind.Null));
        Assert.All(rows[15].EnumerateArray(), k => Assert.Equal(25, k.GetArrayLength()));
        var bitmaps = json.GetProperty("rbfBitmaps");
        Assert.Equal(10, bitmaps.GetProperty("digits").GetArrayLength());
        Assert.Equal(84, bitmaps.GetProperty("digits")[0].GetArrayLength());
    }

    [Fact]
    public async Task Unknown_models_and_endpoints_are_404_with_a_json_error()
    {
        var response = await Client.GetAsync("api/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("lenet5", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        response = await Client.GetAsync("api/nothing");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("No such API endpoint", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_page_and_its_assets_are_served()
    {
        var html = await Client.GetStringAsync("");
        Assert.Contains("<canvas id=\"pad\"", html);
        foreach (var (path, type) in new[] { ("app.js", "text/javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg+xml") })
        {
            var response = await Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("missing.js")).StatusCode);
    }

    [Fact]
    public void The_shipped_catalog_starts_with_lenet5()
    {
        var catalog = ModelCatalog.Shipped();
        Assert.Equal("lenet5", catalog.Default.Name);
        Assert.True(catalog.Default.TestAccuracy > 0.99);
    }
}
