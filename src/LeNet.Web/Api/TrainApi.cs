// Training from the page. POST /api/train with JSON named like `lenet train`'s options (all optional:
// {"arch","fast","epochs","batch","optimizer","lr","schedule","seed","limit","augment","elastic",
// "elasticAlpha","elasticSigma","labelSmoothing","weightDecay","ema","keep"}) → {"id","events","model"}; GET /api/train/{id}/events → text/event-stream, one JSON object
// per event (each with step, epoch, loss, accuracy; the last with "done": true and the new model's
// name); POST /api/train/{id}/stop, /pause, /resume; GET /api/train: whether training is allowed,
// the limits, and the runs.
using System.Text.Json;
using System.Text.Json.Nodes;
using LeNet.Web.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LeNet.Web.Api;

public static class TrainApi
{
    const long MaxRequestBytes = 16 * 1024;
    static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static RouteGroupBuilder MapTrainApi(this RouteGroupBuilder api)
    {
        api.MapGet("/train", (TrainingRuns runs) => Results.Json(new JsonObject
        {
            ["allowed"] = runs.Limits.Allowed,
            ["limits"] = new JsonObject
            {
                ["maxEpochs"] = runs.Limits.MaxEpochs,
                ["maxBatch"] = runs.Limits.MaxBatch,
                ["maxMinutes"] = runs.Limits.MaxDuration.TotalMinutes,
                ["unwatchedSeconds"] = runs.Limits.Unwatched.TotalSeconds,
            },
            ["current"] = runs.Current?.Id,
            ["runs"] = new JsonArray(runs.Runs.Select(r => (JsonNode)Describe(r)).ToArray()),
        }));
        api.MapPost("/train", Start);
        api.MapGet("/train/{id}/events", Events);
        api.MapPost("/train/{id}/stop", (string id, TrainingRuns runs) => Control(runs, id, r => r.Stop()));
        api.MapPost("/train/{id}/pause", (string id, TrainingRuns runs) => Control(runs, id, r => r.Pause()));
        api.MapPost("/train/{id}/resume", (string id, TrainingRuns runs) => Control(runs, id, r => r.Resume()));
        return api;
    }

    static JsonObject Describe(TrainingRun r) => new()
    {
        ["id"] = r.Id,
        ["events"] = $"api/train/{r.Id}/events",
        ["model"] = r.Model ?? r.ModelName,
        ["done"] = r.Done,
        ["paused"] = r.Paused,
        ["options"] = r.Options.ToJson(),
    };

    static async Task<IResult> Start(HttpRequest request, TrainingRuns runs, CancellationToken ct)
    {
        if (request.ContentLength > MaxRequestBytes) return ApiError.Result(413, $"The request body is over {MaxRequestBytes / 1024} kB; send the options as a small JSON object.");
        TrainRequest? body;
        try
        {
            using var limited = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = await request.Body.ReadAsync(buffer, ct)) > 0)
            {
                limited.Write(buffer, 0, n);
                if (limited.Length > MaxRequestBytes) return ApiError.Result(413, $"The request body is over {MaxRequestBytes / 1024} kB; send the options as a small JSON object.");
            }
            body = limited.Length == 0 ? new TrainRequest() : JsonSerializer.Deserialize<TrainRequest>(limited.ToArray(), TrainRequest.Json);
        }
        catch (JsonException e)
        {
            return ApiError.Result(400, $"The body must be a JSON object of training options (arch, fast, epochs, batch, optimizer, lr, schedule, seed, limit, augment, elastic, elasticAlpha, elasticSigma, labelSmoothing, weightDecay, ema, keep): {e.Message}");
        }
        if (body is null) return ApiError.Result(400, "The body must be a JSON object of training options, not null.");
        try
        {
            var run = runs.Start(body);
            return Results.Json(Describe(run), statusCode: StatusCodes.Status201Created);
        }
        catch (TrainingRefusedException e)
        {
            return ApiError.Result(e.Status, e.Message);
        }
    }

    static async Task Events(string id, HttpContext context, TrainingRuns runs)
    {
        var run = runs.Find(id);
        if (run is null)
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsJsonAsync(new ApiErrorBody($"No training run '{id}' on this server (a server keeps its last few runs until it stops)."));
            return;
        }
        using var watching = run.Watch();
        if (watching is null)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            await context.Response.WriteAsJsonAsync(new ApiErrorBody($"{TrainingRun.MaxWatchers} pages already watch this run; close one and try again."));
            return;
        }
        int after = -1;
        if (context.Request.Headers["Last-Event-ID"] is { Count: > 0 } last && int.TryParse(last.ToString(), out int lastId)) after = lastId;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var ct = context.RequestAborted;
        await response.WriteAsync("retry: 2000\n\n", ct);
        await response.Body.FlushAsync(ct);
        try
        {
            while (true)
            {
                var (events, finished) = await run.EventsAfter(after, KeepAlive, ct);
                if (events.Count == 0)
                {
                    if (finished) break;
                    await response.WriteAsync(": keep-alive\n\n", ct);
                }
                foreach (var (index, json) in events)
                {
                    await response.WriteAsync($"id: {index}\ndata: {json}\n\n", ct);
                    after = index;
                }
                await response.Body.FlushAsync(ct);
                if (finished) break;   // the last event ("done": true) was among these
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page went away; the run notices it has no watcher.
        }
    }

    static IResult Control(TrainingRuns runs, string id, Action<TrainingRun> action)
    {
        var run = runs.Find(id);
        if (run is null) return ApiError.Result(404, $"No training run '{id}' on this server.");
        action(run);
        return Results.Json(Describe(run));
    }
}
