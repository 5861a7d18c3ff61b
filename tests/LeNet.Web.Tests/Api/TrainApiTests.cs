// Training from the API: POST /api/train with the CLI's option names, the run's Server-Sent Events
// (every event with step, epoch, loss, accuracy; the last one "done" with the new model's name),
// stop, the model in the catalog and downloadable, and the guards: options checked against the
// server's limits, one run at a time, no training on a server reachable from other machines unless
// allowed, and a run nobody watches stops.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using LeNet.Models;
using LeNet.Web.Training;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LeNet.Web.Tests.Api;

[Collection("server")]
public sealed class TrainApiTests(ServerFixture server)
{
    static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Reads a run's events until the one with "done": true (or the time runs out).</summary>
    static async Task<List<JsonObject>> ReadEvents(HttpClient client, string id, Func<JsonObject, Task>? onEvent = null, int seconds = 120)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        using var response = await client.GetAsync($"api/train/{id}/events", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var events = new List<JsonObject>();
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var e = JsonNode.Parse(line["data: ".Length..])!.AsObject();
            events.Add(e);
            if (onEvent is not null) await onEvent(e);
            if (e["done"] is JsonValue d && (bool)d) break;
        }
        return events;
    }

    [Fact]
    public async Task A_run_streams_its_progress_and_its_model_joins_the_catalog()
    {
        var start = await server.Client.PostAsync("api/train", Json("""{"arch":"lenet5","epochs":2,"batch":64,"optimizer":"adam","lr":0.002,"augment":false,"limit":3200,"keep":[30]}"""));
        Assert.Equal(HttpStatusCode.Created, start.StatusCode);
        string id = (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;

        var events = await ReadEvents(server.Client, id);
        foreach (var e in events)
            foreach (var key in new[] { "step", "epoch", "loss", "accuracy" })
                Assert.True(e.ContainsKey(key), $"event {e.ToJsonString()[..Math.Min(120, e.ToJsonString().Length)]} has no {key}");
        Assert.Equal("start", (string)events[0]["type"]!);
        var steps = events.Where(e => (string)e["type"]! == "step").ToList();
        Assert.True(steps.Count >= 4, $"{steps.Count} step events");
        Assert.True((double)steps[^1]["loss"]! < (double)steps[0]["loss"]!, "the loss falls");
        Assert.Equal(2, events.Count(e => (string)e["type"]! == "epoch"));
        var snapshots = events.Where(e => (string)e["type"]! == "snapshot").ToList();
        Assert.True(snapshots.Count >= 3);
        Assert.Equal(20, snapshots[^1]["guesses"]!.AsArray().Count);
        Assert.Equal([6, 1, 5, 5], snapshots[^1]["kernels"]![0]!["shape"]!.AsArray().Select(v => (int)v!));
        Assert.Contains(events, e => (string)e["type"]! == "kept" && ((string)e["model"]!).EndsWith("-step30", StringComparison.Ordinal));

        var done = events[^1];
        Assert.True((bool)done["done"]!);
        Assert.False((bool)done["stopped"]!);
        Assert.Equal(100, (long)done["step"]!);
        Assert.True((double)done["testAccuracy"]! > 0.85, $"test accuracy {(double)done["testAccuracy"]!}");
        string model = (string)done["model"]!;

        // The model is served like the others, and can be downloaded as .lenet and .onnx.
        var models = await server.Client.GetFromJsonAsync<JsonArray>("api/models");
        Assert.Contains(models!, m => (string)m!["name"]! == model && (string)m["source"]! == ModelCatalog.TrainedSource);
        var predict = await server.Client.PostAsync($"api/predict?model={model}", new ByteArrayContent(server.DigitPng(0)));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var file = await server.Client.GetByteArrayAsync($"api/models/{model}/file");
        var contents = ModelFile.Parse(file, "download");
        Assert.Equal("lenet5", contents.Architecture.Name);
        Assert.Equal((double)done["testAccuracy"]!, (double)contents.Metadata["testAccuracy"]!, 6);
        var onnx = await server.Client.GetByteArrayAsync($"api/models/{model}/onnx");
        Assert.True(onnx.Length > 200_000);

        // A late page replays the events from the start.
        var again = await ReadEvents(server.Client, id);
        Assert.Equal(events.Count, again.Count);
    }

    [Fact]
    public async Task A_run_can_be_stopped_and_only_one_runs_at_a_time()
    {
        var start = await server.Client.PostAsync("api/train", Json("""{"epochs":30,"limit":6400,"keep":[]}"""));
        Assert.Equal(HttpStatusCode.Created, start.StatusCode);
        string id = (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;

        var busy = await server.Client.PostAsync("api/train", Json("{}"));
        Assert.Equal(HttpStatusCode.Conflict, busy.StatusCode);
        Assert.Contains("already", (string)(await busy.Content.ReadFromJsonAsync<JsonObject>())!["error"]!);

        bool stopped = false;
        var events = await ReadEvents(server.Client, id, async e =>
        {
            if (!stopped && (string)e["type"]! == "step" && (long)e["step"]! >= 20)
            {
                stopped = true;
                Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync($"api/train/{id}/stop", null)).StatusCode);
            }
        });
        var done = events[^1];
        Assert.True((bool)done["stopped"]!);
        Assert.Contains("stopped from the page", (string)done["reason"]!);
        Assert.True((long)done["step"]! < 30 * 100, "it stopped long before its 3,000 steps");
        Assert.NotNull(done["model"]);

        var after = await server.Client.PostAsync("api/train/nope/stop", null);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Theory]
    [InlineData("""{"epochs":100}""", "epochs must be at most 30")]
    [InlineData("""{"arch":"resnet"}""", "Unknown architecture 'resnet'")]
    [InlineData("""{"lr":-1}""", "lr must be a positive number")]
    [InlineData("""{"batch":0}""", "batch must be between 1")]
    [InlineData("""{"optimizer":"lion"}""", "optimizer must be one of sgd, adam, rmsprop")]
    [InlineData("""{"epochs":"two"}""", "JSON object of training options")]
    [InlineData("""{"epocs":2}""", "'epocs'")]
    [InlineData("""[1,2]""", "JSON object of training options")]
    [InlineData("""{"epochs":2""", "JSON object of training options")]
    [InlineData("""{"labelSmoothing":0.1,"arch":"lenet5-1998"}""", "labelSmoothing applies to softmax outputs")]
    [InlineData("""{"keep":[0]}""", "keep lists steps")]
    [InlineData("""{"elasticAlpha":500}""", "elasticAlpha must be between 0 and 200")]
    [InlineData("""{"ema":1}""", "ema is a decay per step")]
    [InlineData("""{"elastic":true,"elasticSigma":0.1}""", "elasticSigma must be between 0.5 and 14")]
    public async Task Bad_options_get_a_400_naming_the_problem(string body, string message)
    {
        var response = await server.Client.PostAsync("api/train", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!);
    }

    [Fact]
    public async Task A_server_reachable_from_other_machines_trains_only_when_allowed()
    {
        Assert.True(LeNet.Web.Api.RequestGuard.IsLoopbackOnly("http://127.0.0.1:5000;http://localhost:5001"));
        Assert.False(LeNet.Web.Api.RequestGuard.IsLoopbackOnly("http://0.0.0.0:5000"));
        Assert.False(LeNet.Web.Api.RequestGuard.IsLoopbackOnly("http://127.0.0.1:5000;http://192.168.1.20:5000"));

        await using var app = WebServer.Create(new WebServerOptions { Urls = "http://127.0.0.1:0", Models = server.App.Services.GetRequiredService<ModelCatalog>(), AllowTraining = false });
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/") };
        var info = await client.GetFromJsonAsync<JsonObject>("api/train");
        Assert.False((bool)info!["allowed"]!);
        var response = await client.PostAsync("api/train", Json("{}"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("--allow-training", (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_run_that_no_page_watches_stops_and_keeps_its_model()
    {
        var catalog = ModelCatalog.Shipped();
        using var runs = new TrainingRuns(catalog, new TrainingLimits { Allowed = true, Unwatched = TimeSpan.FromSeconds(1), Threads = 1 },
            () => (server.TestSet, server.TestSet));
        var run = runs.Start(new TrainRequest { Epochs = 30, Limit = 9600, Keep = [] });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!run.Done && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(100);
        Assert.True(run.Done, "the run stopped by itself");
        var (events, finished) = await run.EventsAfter(-1, TimeSpan.Zero, CancellationToken.None);
        Assert.True(finished);
        var done = JsonNode.Parse(events[^1].Json)!;
        Assert.True((bool)done["stopped"]!);
        Assert.Contains("no page watched it", (string)done["reason"]!);
        // Never watched at all, it got a third of the time.
        Assert.True((double)done["seconds"]! < 5, $"{done["seconds"]} s");
        Assert.Contains(catalog.Models, m => m.Name == run.Model);
    }

    [Fact]
    public async Task A_paused_run_waits_and_goes_on_when_resumed()
    {
        var catalog = ModelCatalog.Shipped();
        using var runs = new TrainingRuns(catalog, new TrainingLimits { Allowed = true, Threads = 1 }, () => (server.TestSet, server.TestSet));
        var run = runs.Start(new TrainRequest { Epochs = 2, Limit = 3200, Keep = [] });
        using var watching = run.Watch()!;
        run.Pause();
        Assert.True(run.Paused);
        await Task.Delay(500);
        var (during, _) = await run.EventsAfter(-1, TimeSpan.Zero, CancellationToken.None);
        await Task.Delay(500);
        var (later, _) = await run.EventsAfter(-1, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(during.Count, later.Count);   // nothing happens while paused
        Assert.False(run.Done);
        // At most MaxWatchers pages at once.
        var more = Enumerable.Range(1, TrainingRun.MaxWatchers - 1).Select(_ => run.Watch()).ToList();
        Assert.All(more, Assert.NotNull);
        Assert.Null(run.Watch());
        more[0]!.Dispose();
        using (var again = run.Watch()) Assert.NotNull(again);
        foreach (var w in more) w?.Dispose();
        run.Resume();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!run.Done && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50);
        Assert.True(run.Done);
        var (events, _) = await run.EventsAfter(-1, TimeSpan.Zero, CancellationToken.None);
        var done = JsonNode.Parse(events[^1].Json)!;
        Assert.False((bool)done["stopped"]!);
        Assert.Contains(events, e => e.Json.Contains("\"type\":\"paused\""));
    }
}
