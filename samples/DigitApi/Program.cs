// A minimal ASP.NET Core app with LeNet.NET: the built-in models, its JSON API under /api, and an
// endpoint of our own that uses the injected DigitReader.
//
//   dotnet run --project samples/DigitApi --urls http://127.0.0.1:5080
//   curl --data-binary @photo.jpg http://127.0.0.1:5080/read          -> {"number":"2026","uncertain":false,...}
//   curl --data-binary @photo.jpg http://127.0.0.1:5080/api/predict   -> what `lenet predict --json` prints
using LeNet.Reading;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLeNet();                       // or: AddLeNet(o => o.ModelFiles.Add("my.lenet"))

var app = builder.Build();
app.MapLeNet();                                    // POST /api/predict, GET /api/models

// Our own endpoint: the number in an uploaded image, and whether to trust it.
const int MaxBytes = 5 * 1024 * 1024;
app.MapPost("/read", async (HttpRequest request, DigitReader reader) =>
{
    // Read at most 5 MB: a client must not be able to fill the server's memory.
    using var body = new MemoryStream();
    var buffer = new byte[81920];
    for (int n; (n = await request.Body.ReadAsync(buffer)) > 0;)
    {
        if (body.Length + n > MaxBytes) return Results.Json(new { error = "The image is over 5 MB." }, statusCode: 413);
        body.Write(buffer, 0, n);
    }
    if (body.Length == 0) return Results.BadRequest(new { error = "Send an image as the request body." });
    try
    {
        var reading = reader.Read(body.ToArray(), "upload");
        return Results.Ok(new { number = reading.Number, uncertain = reading.Uncertain, reason = reading.Reason });
    }
    catch (LeNet.LeNetException e)
    {
        return Results.BadRequest(new { error = e.Message });
    }
});

app.Run();

/// <summary>For the tests, which start this app in-process.</summary>
public partial class Program;
