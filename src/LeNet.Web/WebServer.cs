// Composition root of the web app: Kestrel with the request limits, the JSON API and the page.
// Every problem caused by a request becomes a 4xx with {"error": "..."}; nothing a client sends
// should produce a 5xx.
using LeNet.Data;
using LeNet.Web.Api;
using LeNet.Web.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LeNet.Web;

public sealed record WebServerOptions
{
    /// <summary>Addresses to listen on, e.g. http://127.0.0.1:5000 (port 0 picks a free port).</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5000";
    public ModelCatalog? Models { get; init; }
    /// <summary>Log each request to the console (off for tests and the quiet default).</summary>
    public bool LogRequests { get; init; }
    /// <summary>Allow training from the page (POST /api/train); null: only when every address is loopback.</summary>
    public bool? AllowTraining { get; init; }
    /// <summary>Bounds of a run started from the page (its Allowed is set from <see cref="AllowTraining"/>).</summary>
    public TrainingLimits TrainingLimits { get; init; } = new();
    /// <summary>The MNIST training and test sets for training from the page (default: LeNet.Data.Mnist's, loaded on the first run).</summary>
    public Func<(MnistDataset Train, MnistDataset Test)>? TrainingData { get; init; }
}

public static class WebServer
{
    public const long MaxBodyBytes = 5 * 1024 * 1024;
    public const int MaxImageSide = 4096;
    public const long MaxImagePixels = 16_000_000;

    public static WebApplication Create(WebServerOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(WebServer).Assembly.GetName().Name });
        builder.WebHost.UseUrls(options.Urls);
        // Kestrel refuses bodies a little over our limit itself; the API checks the exact limit and says so in JSON.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxBodyBytes + 64 * 1024);
        builder.Logging.ClearProviders();
        if (options.LogRequests) builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        var catalog = options.Models ?? ModelCatalog.Shipped();
        builder.Services.AddSingleton(catalog);
        bool allowTraining = options.AllowTraining ?? RequestGuard.IsLoopbackOnly(options.Urls);
        builder.Services.AddSingleton(_ => new TrainingRuns(catalog, options.TrainingLimits with { Allowed = allowTraining }, options.TrainingData));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull);

        var app = builder.Build();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<RequestGuard>(options);
        app.MapGroup("/api").MapPredictApi().MapModelsApi().MapTrainApi();
        StaticPage.Map(app);
        return app;
    }
}
