// The API under mutated requests: odd content types, mutated images, JSON and multipart bodies, odd
// query values. Every answer must be below 500 and JSON (an error or a prediction). The count is
// LENET_FUZZ (default 300); set it to 10000 or more for a long run.
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace LeNet.Web.Tests.Fuzz;

[Collection("server")]
public sealed class ApiFuzzTests(ServerFixture server)
{
    static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("LENET_FUZZ"), out int n) && n > 0 ? n : 300;

    static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        for (int e = 0, edits = 1 + rng.Next(4); e < edits; e++)
            switch (rng.Next(5))
            {
                case 0: if (b.Count > 0) b[rng.Next(b.Count)] = (byte)rng.Next(256); break;
                case 1: if (b.Count > 0) b.RemoveAt(rng.Next(b.Count)); break;
                case 2: if (b.Count > 1) { int cut = rng.Next(b.Count); b.RemoveRange(cut, b.Count - cut); } break;
                case 3: b.InsertRange(rng.Next(b.Count + 1), Enumerable.Range(0, 1 + rng.Next(32)).Select(_ => (byte)rng.Next(256))); break;
                default: if (b.Count > 0) { int at = rng.Next(b.Count), len = Math.Min(b.Count - at, 1 + rng.Next(200)); b.InsertRange(at, b.GetRange(at, len)); } break;
            }
        return [.. b];
    }

    static readonly string?[] ContentTypes =
    [
        null, "application/json", "image/png", "image/jpeg", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream",
        "multipart/form-data", "multipart/form-data; boundary=XyZ", "multipart/form-data; boundary=" + new string('b', 200), "multipart/mixed; boundary=XyZ",
        "application/json; charset=utf-16", "image/png; q=\"", ";;;",
    ];

    static readonly string[] Queries = ["", "?top=3", "?top=abc", "?top=-1", "?top=99999999999", "?layers=true", "?layers=maybe", "?model=lenet5", "?model=..%2F..%2Fetc", "?model=", "?top=1&top=2", "?%ZZ=1"];

    [Fact]
    public async Task Every_mutated_request_gets_a_json_answer_below_500()
    {
        var rng = new Random(5);
        var png = server.DigitPng(0, scale: 2);
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { pixels = server.TestSet.Image(1).ToArray().Select(b => (int)b) }));
        var multipart = Encoding.Latin1.GetBytes("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.png\"\r\nContent-Type: image/png\r\n\r\n")
            .Concat(png).Concat(Encoding.Latin1.GetBytes("\r\n--XyZ--\r\n")).ToArray();
        byte[][] seeds = [png, json, multipart, []];
        var codes = new Dictionary<int, int>();
        for (int i = 0; i < Iterations; i++)
        {
            var body = rng.Next(5) == 0 ? seeds[rng.Next(seeds.Length)] : Mutate(seeds[rng.Next(seeds.Length)], rng);
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = null;
            if (ContentTypes[rng.Next(ContentTypes.Length)] is { } type) content.Headers.TryAddWithoutValidation("Content-Type", type);
            using var response = await server.Client.PostAsync("api/predict" + Queries[rng.Next(Queries.Length)], content);
            int status = (int)response.StatusCode;
            codes[status] = codes.GetValueOrDefault(status) + 1;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status < 500, $"case {i}: {status} {text}");
            using var doc = JsonDocument.Parse(text);
            Assert.True(doc.RootElement.TryGetProperty(status == 200 ? "digit" : "error", out _), $"case {i}: {status} {text}");
        }
        Assert.True(codes.Keys.Count > 2, string.Join(", ", codes.Select(kv => $"{kv.Key}: {kv.Value}")));
    }
}
