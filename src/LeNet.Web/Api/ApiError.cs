// The one error shape of the API, and the middleware that turns request problems into it.
using Microsoft.AspNetCore.Http;

namespace LeNet.Web.Api;

public sealed record ApiErrorBody(string Error);

public static class ApiError
{
    public static IResult Result(int status, string message) => Results.Json(new ApiErrorBody(message), statusCode: status);

    /// <summary>The status for a library exception caused by the request's content.</summary>
    public static int StatusFor(LeNetException e) => e switch
    {
        ImageTooLargeException => StatusCodes.Status413PayloadTooLarge,
        NoDigitException => StatusCodes.Status422UnprocessableEntity,
        InvalidImageException => StatusCodes.Status415UnsupportedMediaType,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>
    /// The status and message for an exception the request caused (bad content, a malformed or
    /// truncated body, the client gone), or null for one it did not.
    /// </summary>
    public static (int Status, string Message)? ForRequestProblem(Exception e, HttpContext context) => e switch
    {
        BadHttpRequestException b => (b.StatusCode, b.StatusCode == StatusCodes.Status413PayloadTooLarge
            ? $"The request body is over the {WebServer.MaxBodyBytes / (1024 * 1024)} MB limit." : $"Bad request: {b.Message}"),
        LeNetException l => (StatusFor(l), l.Message),
        OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "The client closed the request."),
        // ReadFormAsync on a malformed or truncated multipart body (no or a bad boundary, a part
        // without a disposition, too many parts, a body that ends early).
        InvalidDataException or IOException => (StatusCodes.Status400BadRequest, $"The request body is malformed ({e.Message})"),
        _ => null,
    };
}

/// <summary>
/// Maps exceptions that escape an endpoint to JSON errors: request problems (a malformed multipart
/// body, a truncated request) to 4xx, anything else to 500 with a request id that is also logged.
/// </summary>
public sealed class ErrorMiddleware(RequestDelegate next, Microsoft.Extensions.Logging.ILogger<ErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, message) = ApiError.ForRequestProblem(e, context)
                ?? (StatusCodes.Status500InternalServerError, $"Internal error (request {context.TraceIdentifier}).");
            if (status >= 500) Microsoft.Extensions.Logging.LoggerExtensions.LogError(log, e, "Request {Id} {Method} {Path} failed", context.TraceIdentifier, context.Request.Method, context.Request.Path);
            context.Response.Clear();
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new ApiErrorBody(message));
        }
    }
}
