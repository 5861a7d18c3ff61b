// Guards of the local server, before any endpoint runs: only the host names the server was bound to
// (loopback names for a loopback address, so a web page cannot reach the API by DNS rebinding), no
// cross-site POST (a browser's Origin must be the server itself), and headers that keep the page and
// the API's answers from being sniffed or framed.
using Microsoft.AspNetCore.Http;

namespace LeNet.Web.Api;

public sealed class RequestGuard
{
    static readonly string[] LoopbackNames = ["localhost", "127.0.0.1", "[::1]", "::1"];
    const string Policy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    readonly RequestDelegate _next;
    readonly HashSet<string>? _hosts;   // null: bound to every address, any host name

    public RequestGuard(RequestDelegate next, WebServerOptions options)
    {
        _next = next;
        _hosts = AllowedHosts(options.Urls);
    }

    /// <summary>The host names requests may name, from the addresses the server listens on (null: any).</summary>
    public static HashSet<string>? AllowedHosts(string urls)
    {
        var hosts = new HashSet<string>(LoopbackNames, StringComparer.OrdinalIgnoreCase);
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int scheme = url.IndexOf("://", StringComparison.Ordinal);
            string rest = scheme >= 0 ? url[(scheme + 3)..] : url;
            string host = rest.StartsWith('[') ? rest[..(rest.IndexOf(']') + 1)] : rest.Split(':', '/')[0];
            if (host is "*" or "+" or "0.0.0.0" or "[::]" or "") return null;
            hosts.Add(host);
        }
        return hosts;
    }

    /// <summary>Whether every address the server listens on is a loopback one (only this machine can connect).</summary>
    public static bool IsLoopbackOnly(string urls) =>
        AllowedHosts(urls) is { } hosts && hosts.All(h => LoopbackNames.Contains(h, StringComparer.OrdinalIgnoreCase));

    public async Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Content-Security-Policy"] = Policy;
        headers["Referrer-Policy"] = "no-referrer";
        string host = context.Request.Host.Host;
        if (_hosts is not null && !_hosts.Contains(host) && !_hosts.Contains($"[{host}]"))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, $"This server answers to {string.Join(", ", _hosts.Where(h => h != "::1"))} only, not '{host}'.");
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method)
            && context.Request.Headers.Origin is { Count: > 0 } origin
            && !(Uri.TryCreate(origin.ToString(), UriKind.Absolute, out var o) && string.Equals(o.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "Cross-site requests are not accepted; call the API from the page it serves or without an Origin header.");
            return;
        }
        await _next(context);
    }

    static Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ApiErrorBody(message));
    }
}
