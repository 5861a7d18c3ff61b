// Serves the page (wwwroot, embedded in the assembly): plain HTML, CSS and JavaScript, no build step.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LeNet.Web;

public static class StaticPage
{
    static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
    };

    public static void Map(WebApplication app)
    {
        var assembly = typeof(StaticPage).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/")))
        {
            using var s = assembly.GetManifestResourceStream(name)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            files[name["wwwroot/".Length..].Replace('\\', '/')] = ms.ToArray();
        }
        app.MapGet("/", () => Serve(files, "index.html"));
        app.MapGet("/{*path}", (string path) => Serve(files, path));
    }

    static IResult Serve(Dictionary<string, byte[]> files, string path) =>
        files.TryGetValue(path, out var bytes)
            ? Results.Bytes(bytes, ContentTypes.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream"))
            : path.StartsWith("api/", StringComparison.OrdinalIgnoreCase) || path == "api"
                ? Api.ApiError.Result(StatusCodes.Status404NotFound, "No such API endpoint. Try POST /api/predict, GET /api/models or GET /api/models/{name}.")
                : Results.NotFound();
}
