// POST /api/predict: an image in, the digits it shows out (the number, each digit with its box and
// calibrated probabilities, and whether any of it is uncertain); `digit`, `probabilities`, `top` and
// `input28` describe the first digit. ?layers=true adds every layer's output for the first digit,
// ?stages=true pictures of the photo pipeline's stages, ?single=true reads all the ink as one digit.
// The body is an image (PNG, JPEG, BMP, GIF, WebP; raw or as a multipart file) read as `lenet predict`
// reads it, or JSON {"pixels": [784 numbers 0–255]}: an MNIST-style 28x28 image (0 = background,
// 255 = ink, row by row) used as it is.
using System.Text.Json;
using LeNet.Data;
using LeNet.Models;
using LeNet.Reading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LeNet.Web.Api;

public sealed record TopGuess(int Digit, float Probability);
public sealed record LayerOutput(string Name, string Kind, int[] Shape, float[] Values);
public sealed record DigitResult(int Digit, float[] Probabilities, int[] Box, bool Uncertain, string? Reason, int[] Input28);
public sealed record StageImage(string Name, string Title, int Width, int Height, string Png);
public sealed record PredictResponse(string Model, string Number, int Digit, float[] Probabilities, TopGuess[] Top, int[] Input28,
    bool Uncertain, string? Reason, DigitResult[] Digits, bool? Inverted, LayerOutput[]? Layers, StageImage[]? Stages);

public static class PredictApi
{
    const string Expected = "Send an image (PNG, JPEG, BMP, GIF, WebP) or JSON {\"pixels\": [784 numbers 0–255]}.";

    // Decoding an image may take up to 64 MB for a moment (DigitPreprocessor): at most one decode per
    // core runs at once, the others wait their turn for a while, then get a 503 to retry.
    static readonly SemaphoreSlim DecodeSlots = new(Math.Max(1, Environment.ProcessorCount));
    static readonly TimeSpan DecodeWait = TimeSpan.FromSeconds(10);

    public static RouteGroupBuilder MapPredictApi(this RouteGroupBuilder api)
    {
        api.MapPost("/predict", Predict);
        return api;
    }

    static async Task<IResult> Predict(HttpRequest request, ModelCatalog catalog, string? model, string? layers, string? top, string? stages, string? single, CancellationToken ct)
    {
        var served = catalog.Find(model);
        if (served is null) return UnknownModel(catalog, model!);
        int? topCount = null;
        if (top is not null)
        {
            // Bound as text so that "abc", "3.5" or "" get this JSON answer, not an empty 400.
            if (!int.TryParse(top, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int t) || t is < 1 or > 10)
                return ApiError.Result(400, $"top must be a whole number between 1 and 10 (got '{top}').");
            topCount = t;
        }
        bool withLayers = Flag(layers), withStages = Flag(stages), one = Flag(single);
        if (request.ContentLength > WebServer.MaxBodyBytes) return TooLarge();

        var reader = new DigitReader(served.Network);
        Reading.Reading? reading;
        if (request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
        {
            var form = await request.ReadFormAsync(ct);
            var file = form.Files.FirstOrDefault();
            if (file is null) return ApiError.Result(400, "The form holds no file. " + Expected);
            if (file.Length > WebServer.MaxBodyBytes) return TooLarge();
            using var ms = new MemoryStream();
            await file.CopyToAsync(ms, ct);
            reading = await ReadAsync(reader, ms.ToArray(), string.IsNullOrWhiteSpace(file.FileName) ? "The uploaded file" : Path.GetFileName(file.FileName), one, ct);
            if (reading is null) return Busy(request);
        }
        else
        {
            var body = await ReadBody(request, ct);
            if (body is null) return TooLarge();
            if (body.Length == 0) return ApiError.Result(400, "The request body is empty. " + Expected);
            if (IsJson(request, body))
            {
                var parsed = ParsePixels(body, out string? error);
                if (parsed is null) return ApiError.Result(400, error!);
                reading = reader.ReadMnist(parsed);
            }
            else
            {
                reading = await ReadAsync(reader, body, "The request body", one, ct);
                if (reading is null) return Busy(request);
            }
        }

        var first = reading.Digits[0];
        var p = first.Probabilities;
        var order = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ToArray();
        LayerOutput[]? outputs = null;
        if (withLayers)
        {
            var trace = served.Network.Trace(first.Input28);
            var ls = served.Network.Layers;
            outputs = new LayerOutput[ls.Count];
            for (int i = 0; i < ls.Count; i++)
            {
                var s = ls[i].OutputShape;
                outputs[i] = new LayerOutput(ls[i].Name, ls[i].Kind, [s.C, s.H, s.W], Rounded(trace.LayerOutputs[i]));
            }
        }
        var digits = reading.Digits.Select(d => new DigitResult(d.Digit, Rounded(d.Probabilities), [d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height],
            d.Uncertain, d.Reason, d.Input28.Select(b => (int)b).ToArray())).ToArray();
        return Results.Json(new PredictResponse(served.Name, reading.Number, first.Digit, Rounded(p),
            order.Take(topCount ?? 3).Select(d => new TopGuess(d, MathF.Round(p[d], 6))).ToArray(),
            first.Input28.Select(b => (int)b).ToArray(), reading.Uncertain, reading.Reason, digits,
            reading.Stages is null ? null : reading.Inverted, outputs, withStages ? Stages(reading) : null));
    }

    static bool Flag(string? value) => value is not null && (value == "" || value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    /// <summary>Pictures of the pipeline's stages (PNG, base64), at the working image's size.</summary>
    static StageImage[]? Stages(Reading.Reading reading)
    {
        if (reading.Stages is not { } s) return null;
        int w = s.Gray.Width, h = s.Gray.Height;
        StageImage Picture(string name, string title, byte[] gray) => new(name, title, w, h, Convert.ToBase64String(DigitImages.GrayPng(gray, w, h)));
        return
        [
            Picture("gray", "1. The image in grey", s.Gray.ToBytes()),
            Picture("background", "2. The paper's own brightness (strokes removed)", s.Ink.Background.ToBytes()),
            Picture("ink", "3. Ink relative to the paper: shadows gone", s.Ink.Ink.ToBytes()),
            Picture("mask", s.Lines.Count > 0 ? $"4. Ink kept, {s.Lines.Count} straight line(s) removed" : "4. Ink kept", s.Mask.Select(m => m ? (byte)255 : (byte)0).ToArray()),
        ];
    }

    /// <summary>The image read, or null when no decode slot came free in time.</summary>
    static async Task<Reading.Reading?> ReadAsync(DigitReader reader, byte[] data, string name, bool single, CancellationToken ct)
    {
        if (!await DecodeSlots.WaitAsync(DecodeWait, ct)) return null;
        try { return reader.Read(data, name, single, WebServer.MaxImagePixels, WebServer.MaxImageSide); }
        finally { DecodeSlots.Release(); }
    }

    static IResult Busy(HttpRequest request)
    {
        request.HttpContext.Response.Headers.RetryAfter = "1";
        return ApiError.Result(StatusCodes.Status503ServiceUnavailable, "The server is busy decoding other images; retry in a second.");
    }

    internal static IResult UnknownModel(ModelCatalog catalog, string name) =>
        ApiError.Result(404, $"Unknown model '{name}'. Available: {string.Join(", ", catalog.Models.Select(m => m.Name))}.");

    static IResult TooLarge() => ApiError.Result(413, $"The request body is over the {WebServer.MaxBodyBytes / (1024 * 1024)} MB limit.");

    /// <summary>The body, or null when it is over the limit.</summary>
    static async Task<byte[]?> ReadBody(HttpRequest request, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
        {
            if (ms.Length + read > WebServer.MaxBodyBytes) return null;
            ms.Write(buffer, 0, read);
        }
        return ms.ToArray();
    }

    static bool IsJson(HttpRequest request, byte[] body)
    {
        if (request.ContentType is { } type && type.Contains("json", StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var b in body)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return b is (byte)'{' or (byte)'[';
        return false;
    }

    /// <summary>784 bytes from {"pixels": [...]}, or null with the reason.</summary>
    internal static byte[]? ParsePixels(byte[] body, out string? error)
    {
        error = null;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body); }
        catch (JsonException e) { error = $"The body is not valid JSON ({e.Message}). {Expected}"; return null; }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("pixels", out var array))
            { error = "The JSON has no \"pixels\" field. " + Expected; return null; }
            if (array.ValueKind != JsonValueKind.Array) { error = "\"pixels\" must be an array of 784 numbers 0–255."; return null; }
            int count = array.GetArrayLength();
            if (count != 784) { error = $"\"pixels\" has {count} numbers; it needs 784 (28x28, row by row, 0 = background, 255 = ink)."; return null; }
            var pixels = new byte[784];
            int i = 0;
            foreach (var v in array.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !(d >= 0 && d <= 255))
                { error = $"\"pixels\"[{i}] is {v.GetRawText()}; each pixel must be a number from 0 to 255."; return null; }
                pixels[i++] = (byte)Math.Round(d);
            }
            return pixels;
        }
    }

    static float[] Rounded(float[] values)
    {
        var r = new float[values.Length];
        for (int i = 0; i < r.Length; i++) r[i] = MathF.Round(values[i], 5);
        return r;
    }
}
