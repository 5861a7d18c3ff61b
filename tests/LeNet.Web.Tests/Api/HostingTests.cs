// LeNet.NET inside someone else's ASP.NET Core app: AddLeNet registers the models and a DigitReader,
// MapLeNet adds the JSON API with its JSON 4xx errors, and nothing else of `lenet serve` is needed.
using System.Net;
using System.Text.Json.Nodes;
using LeNet.Reading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LeNet.Web.Tests.Api;

[Collection("server")]
public sealed class HostingTests(ServerFixture server)
{
    [Fact]
    public async Task An_app_with_AddLeNet_and_MapLeNet_reads_digits_and_answers_bad_input_with_json()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddLeNet();
        await using var app = builder.Build();
        app.MapLeNet("/digits");
        app.MapPost("/mine", (DigitReader reader) => Results.Ok(new { number = reader.Read(server.DigitPng(0), "seven.png").Number }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/") };

        // The built-in models, lenet5 the default.
        var models = JsonNode.Parse(await client.GetStringAsync("digits/models"))!;
        Assert.Contains("lenet5", models.ToJsonString());

        // The API reads an uploaded digit as `lenet serve` does.
        var response = await client.PostAsync("digits/predict", new ByteArrayContent(server.DigitPng(0)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(server.TestSet.Labels[0], (int)json["digit"]!);

        // The injected DigitReader serves the app's own endpoint.
        var mine = JsonNode.Parse(await (await client.PostAsync("mine", null)).Content.ReadAsStringAsync())!;
        Assert.Equal(server.TestSet.Labels[0].ToString(), (string)mine["number"]!);

        // A text file sent as an image: a JSON 4xx naming the problem, not a 500.
        var bad = await client.PostAsync("digits/predict", new StringContent("this is not an image"));
        Assert.InRange((int)bad.StatusCode, 400, 499);
        Assert.NotNull(JsonNode.Parse(await bad.Content.ReadAsStringAsync())!["error"]);
    }
}
