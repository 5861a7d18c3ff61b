// LeNet.NET in your own ASP.NET Core app: `builder.Services.AddLeNet()` registers the models and a
// DigitReader to inject into your endpoints; `app.MapLeNet()` adds the same JSON API as `lenet
// serve` (POST /api/predict, GET /api/models), errors as JSON 4xx. See samples/DigitApi.
using LeNet.Reading;
using LeNet.Web;
using LeNet.Web.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Which models <see cref="LeNetServiceCollectionExtensions.AddLeNet"/> serves.</summary>
public sealed class LeNetOptions
{
    /// <summary>.lenet files to serve, the first the default; empty: the built-in models (lenet5 first).</summary>
    public List<string> ModelFiles { get; } = [];
}

public static class LeNetServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons, the <see cref="ModelCatalog"/> (the built-in models, or
    /// <see cref="LeNetOptions.ModelFiles"/>) and a <see cref="DigitReader"/> over its default model.
    /// Both are safe to share between requests.
    /// </summary>
    public static IServiceCollection AddLeNet(this IServiceCollection services, Action<LeNetOptions>? configure = null)
    {
        var options = new LeNetOptions();
        configure?.Invoke(options);
        var catalog = options.ModelFiles.Count > 0 ? ModelCatalog.FromFiles(options.ModelFiles) : ModelCatalog.Shipped();
        services.AddSingleton(catalog);
        services.AddSingleton(new DigitReader(catalog.Default.Network));
        return services;
    }

    /// <summary>
    /// Maps LeNet.NET's JSON API under <paramref name="prefix"/>: POST {prefix}/predict (an image as
    /// the body or a form file; the same fields as `lenet predict --json`) and GET {prefix}/models.
    /// Needs <see cref="AddLeNet"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapLeNet(this IEndpointRouteBuilder endpoints, string prefix = "/api")
    {
        var group = endpoints.MapGroup(prefix);
        // What `lenet serve` does in its middleware, for these endpoints only: a problem with the
        // request becomes a JSON 4xx naming it, in your app as in ours.
        group.AddEndpointFilter(async (context, next) =>
        {
            try { return await next(context); }
            catch (Exception e) when (ApiError.ForRequestProblem(e, context.HttpContext) is { } problem)
            {
                return ApiError.Result(problem.Status, problem.Message);
            }
        });
        group.MapPredictApi().MapModelsApi();
        return endpoints;
    }
}
