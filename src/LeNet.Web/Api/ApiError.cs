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
}

/// <summary>Maps exceptions that escape an endpoint to JSON errors: request problems to 4xx, anything else to 500 with no details.</summary>
public sealed class ErrorMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, message) = e switch
            {
                BadHttpRequestException b => (b.StatusCode, b.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? $"The request body is over the {WebServer.MaxBodyBytes / (1024 * 1024)} MB limit." : $"Bad request: {b.Message}"),
                LeNetException l => (ApiError.StatusFor(l), l.Message),
                OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "The client closed the request."),
                _ => (StatusCodes.Status500InternalServerError, "Internal error."),
            };
            context.Response.Clear();
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new ApiErrorBody(message));
        }
    }
}
