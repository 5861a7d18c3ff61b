// POST /api/predict against the real server: images, JSON pixels, layers, and every kind of bad request.
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LeNet.Data;
using LeNet.Models;
using SkiaSharp;

namespace LeNet.Web.Tests.Api;

[Collection("server")]
public sealed class PredictApiTests(ServerFixture server)
{
    HttpClient Client => server.Client;

    static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    async Task<(HttpStatusCode Status, string Error)> ErrorOf(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!);
    }

    HttpContent Pixels(int i) => JsonContent.Create(new { pixels = server.TestSet.Image(i).ToArray().Select(b => (int)b).ToArray() });

    [Fact]
    public async Task Json_pixels_give_the_same_answer_as_the_library()
    {
        var model = ModelCatalog.FromFiles([Path.Combine(AppContext.BaseDirectory, "models", "lenet5.lenet")]).Default.Network;
        var expected = new float[Loss.Classes];
        for (int i = 0; i < 5; i++)
        {
            model.Predict(server.TestSet.Image(i), 1, expected, threads: 1);
            model.Calibration.Apply(expected);  // the API answers with calibrated probabilities
            var r = await Json(await Client.PostAsync("api/predict", Pixels(i)));
            Assert.Equal(server.TestSet.Labels[i], r.GetProperty("digit").GetInt32());
            var p = r.GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(10, p.Length);
            for (int d = 0; d < 10; d++) Assert.Equal(expected[d], p[d], 1e-4f);
            var input = r.GetProperty("input28").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray();
            Assert.Equal(server.TestSet.Image(i).ToArray(), input);
            var top = r.GetProperty("top").EnumerateArray().ToArray();
            Assert.Equal(3, top.Length);
            Assert.Equal(r.GetProperty("digit").GetInt32(), top[0].GetProperty("digit").GetInt32());
            Assert.True(top[0].GetProperty("probability").GetSingle() >= top[1].GetProperty("probability").GetSingle());
            Assert.Equal("lenet5", r.GetProperty("model").GetString());
            Assert.Equal(server.TestSet.Labels[i].ToString(), r.GetProperty("number").GetString());
            Assert.Equal(1, r.GetProperty("digits").GetArrayLength());
            Assert.Equal([0, 0, 28, 28], r.GetProperty("digits")[0].GetProperty("box").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            Assert.False(r.TryGetProperty("layers", out _));
            Assert.False(r.GetProperty("uncertain").GetBoolean());
        }
    }

    [Fact]
    public async Task Image_bodies_are_preprocessed_like_lenet_predict()
    {
        for (int i = 0; i < 10; i++)
        {
            var png = new ByteArrayContent(server.DigitPng(i));
            png.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            var r = await Json(await Client.PostAsync("api/predict", png));
            Assert.Equal(server.TestSet.Labels[i], r.GetProperty("digit").GetInt32());
            Assert.True(r.GetProperty("inverted").GetBoolean());  // dark ink on white paper
            var expected = DigitPreprocessor.FromBytes(server.DigitPng(i), "x").Pixels28;
            Assert.Equal(expected, r.GetProperty("input28").EnumerateArray().Select(e => (byte)e.GetInt32()).ToArray());
        }
    }

    [Fact]
    public async Task A_photo_of_a_number_gives_every_digit_with_its_box_and_the_stages()
    {
        var sample = new LeNet.PhotoLab.Conditions(server.TestSet, fonts: []).One(LeNet.PhotoLab.Condition.Number, 0);
        var jpeg = new ByteArrayContent(sample.Bytes);
        jpeg.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        var r = await Json(await Client.PostAsync("api/predict?stages=true", jpeg));
        Assert.Equal(sample.Label, r.GetProperty("number").GetString());
        var digits = r.GetProperty("digits").EnumerateArray().ToArray();
        Assert.Equal(sample.Label.Length, digits.Length);
        Assert.Equal(sample.Label[0] - '0', r.GetProperty("digit").GetInt32());
        for (int i = 0; i < digits.Length; i++)
        {
            Assert.Equal(sample.Label[i] - '0', digits[i].GetProperty("digit").GetInt32());
            Assert.Equal(4, digits[i].GetProperty("box").GetArrayLength());
            Assert.Equal(784, digits[i].GetProperty("input28").GetArrayLength());
        }
        var stages = r.GetProperty("stages").EnumerateArray().ToArray();
        Assert.Equal(["gray", "background", "ink", "mask"], stages.Select(s => s.GetProperty("name").GetString()!).ToArray());
        using var picture = SKBitmap.Decode(Convert.FromBase64String(stages[2].GetProperty("png").GetString()!));
        Assert.Equal(stages[2].GetProperty("width").GetInt32(), picture.Width);

        var single = new ByteArrayContent(sample.Bytes);
        single.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        var one = await Json(await Client.PostAsync("api/predict?single=true", single));
        Assert.Equal(1, one.GetProperty("digits").GetArrayLength());
        Assert.True(one.GetProperty("uncertain").GetBoolean());
        Assert.Equal("ink unlike a digit", one.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Multipart_uploads_and_jpeg_are_accepted()
    {
        using var bitmap = SKBitmap.Decode(server.DigitPng(0));
        using var jpeg = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Jpeg, 90);
        using var form = new MultipartFormDataContent { { new ByteArrayContent(jpeg.ToArray()), "file", "seven.jpg" } };
        var r = await Json(await Client.PostAsync("api/predict", form));
        Assert.Equal(server.TestSet.Labels[0], r.GetProperty("digit").GetInt32());
    }

    [Fact]
    public async Task Layers_hold_every_layer_output_with_its_shape()
    {
        var r = await Json(await Client.PostAsync("api/predict?layers=true", Pixels(3)));
        var layers = r.GetProperty("layers").EnumerateArray().ToArray();
        Assert.Equal(["conv1", "pool1", "conv2", "pool2", "conv3", "dense1", "output"], layers.Select(l => l.GetProperty("name").GetString()));
        int[][] shapes = [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5], [120, 1, 1], [84, 1, 1], [10, 1, 1]];
        for (int i = 0; i < layers.Length; i++)
        {
            var shape = layers[i].GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(shapes[i], shape);
            Assert.Equal(shape[0] * shape[1] * shape[2], layers[i].GetProperty("values").GetArrayLength());
        }
        // relu layers are never negative
        Assert.All(layers[0].GetProperty("values").EnumerateArray(), v => Assert.True(v.GetSingle() >= 0));
    }

    [Fact]
    public async Task The_model_parameter_picks_a_model()
    {
        var r = await Json(await Client.PostAsync("api/predict?model=lenet5-1998&layers=true", Pixels(0)));
        Assert.Equal("lenet5-1998", r.GetProperty("model").GetString());
        var names = r.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["C1", "S2", "C3", "S4", "C5", "F6", "output"], names);
        Assert.Equal(1f, r.GetProperty("probabilities").EnumerateArray().Sum(e => e.GetSingle()), 1e-3f);
    }

    [Theory]
    [InlineData("", "application/octet-stream", HttpStatusCode.BadRequest, "empty")]
    [InlineData("this is a text file, not an image", "text/plain", HttpStatusCode.UnsupportedMediaType, "not an image")]
    [InlineData("{\"pixels\":[1,2,3]}", "application/json", HttpStatusCode.BadRequest, "has 3 numbers; it needs 784")]
    [InlineData("{\"pixel\":[]}", "application/json", HttpStatusCode.BadRequest, "no \"pixels\" field")]
    [InlineData("{\"pixels\":", "application/json", HttpStatusCode.BadRequest, "not valid JSON")]
    [InlineData("{\"pixels\":\"abc\"}", "application/json", HttpStatusCode.BadRequest, "must be an array")]
    [InlineData("[1,2,3]", "application/json", HttpStatusCode.BadRequest, "no \"pixels\" field")]
    public async Task Bad_bodies_get_a_4xx_naming_the_problem(string body, string type, HttpStatusCode status, string message)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", content));
        Assert.Equal(status, code);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task Pixels_out_of_range_are_refused()
    {
        var pixels = Enumerable.Repeat(0.0, 784).ToArray();
        pixels[100] = 256;
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", JsonContent.Create(new { pixels })));
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("[100]", error);
    }

    [Fact]
    public async Task A_body_over_5_MB_is_refused_with_413()
    {
        var big = new byte[5 * 1024 * 1024 + 1];
        new Random(1).NextBytes(big);
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", new ByteArrayContent(big)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, code);
        Assert.Contains("5 MB", error);

        // The same without a Content-Length (chunked): the limit holds while reading.
        var chunked = new StreamContent(new MemoryStream(big));
        var request = new HttpRequestMessage(HttpMethod.Post, "api/predict") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        (code, _) = await ErrorOf(await Client.SendAsync(request));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, code);
    }

    [Theory]
    [InlineData(4097, 10, "4096x4096")]
    [InlineData(4000, 4001, "megapixels")]
    public async Task Images_over_the_size_limits_are_refused_before_decoding(int w, int h, string message)
    {
        using var bitmap = new SKBitmap(w, h, SKColorType.Gray8, SKAlphaType.Opaque);
        bitmap.Erase(SKColors.White);
        using var png = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 0);
        Assert.True(png.Size < 5 * 1024 * 1024);
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", new ByteArrayContent(png.ToArray())));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, code);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task A_blank_image_is_refused()
    {
        using var bitmap = new SKBitmap(200, 200);
        bitmap.Erase(SKColors.White);
        using var png = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", new ByteArrayContent(png.ToArray())));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Contains("no digit found", error);
    }

    [Theory]
    [InlineData("api/predict?model=nope", "Unknown model 'nope'")]
    [InlineData("api/predict?top=11", "top must be a whole number between 1 and 10")]
    [InlineData("api/predict?top=abc", "top must be a whole number between 1 and 10 (got 'abc')")]
    [InlineData("api/predict?top=1e3", "top must be a whole number")]
    [InlineData("api/predict?top=3.5", "top must be a whole number")]
    [InlineData("api/predict?top=", "top must be a whole number")]
    public async Task Bad_parameters_are_refused(string url, string message)
    {
        var (code, error) = await ErrorOf(await Client.PostAsync(url, Pixels(0)));
        Assert.True((int)code is 400 or 404);
        Assert.Contains(message, error);
    }

    [Theory]
    [InlineData("multipart/form-data", "x")]                                    // no boundary
    [InlineData("multipart/form-data; boundary=abc", "x")]                      // a boundary the body never has
    [InlineData("multipart/form-data; boundary=abc", "--abc\r\nContent-Type: image/png\r\n\r\nxx\r\n--abc--\r\n")]   // a part without a disposition
    [InlineData("multipart/form-data; boundary=abc", "--abc\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n\r\n\u0089PNG")] // truncated
    public async Task A_malformed_multipart_body_is_a_json_400(string contentType, string body)
    {
        var content = new ByteArrayContent(System.Text.Encoding.Latin1.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", content));
        Assert.True((int)code is >= 400 and < 500, $"{code}: {error}");
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public async Task A_tiny_png_declaring_4000x4000_is_a_json_4xx()
    {
        // 57 bytes: a signature and a header declaring 4000x4000 greyscale, then an empty IDAT.
        static byte[] Chunk(string type, byte[] data)
        {
            var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            return [.. BitConverter.GetBytes(data.Length).Reverse(), .. typed, .. BitConverter.GetBytes(System.IO.Hashing.Crc32.HashToUInt32(typed)).Reverse()];
        }
        byte[] ihdr = [0, 0, 0x0F, 0xA0, 0, 0, 0x0F, 0xA0, 8, 0, 0, 0, 0];
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. Chunk("IHDR", ihdr), .. Chunk("IDAT", []), .. Chunk("IEND", [])];
        var (code, error) = await ErrorOf(await Client.PostAsync("api/predict", new ByteArrayContent(png)));
        Assert.True((int)code is >= 400 and < 500, $"{code}: {error}");
        Assert.Contains("truncated", error);
    }

    [Fact]
    public async Task Other_host_names_and_cross_site_posts_are_refused()
    {
        using var rebinding = new HttpRequestMessage(HttpMethod.Post, "api/predict") { Content = Pixels(0) };
        rebinding.Headers.Host = "evil.example";
        var (code, error) = await ErrorOf(await Client.SendAsync(rebinding));
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Contains("evil.example", error);

        using var crossSite = new HttpRequestMessage(HttpMethod.Post, "api/predict") { Content = Pixels(0) };
        crossSite.Headers.Add("Origin", "http://evil.example");
        (code, error) = await ErrorOf(await Client.SendAsync(crossSite));
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Contains("Cross-site", error);

        using var sameSite = new HttpRequestMessage(HttpMethod.Post, "api/predict") { Content = Pixels(0) };
        sameSite.Headers.Add("Origin", server.BaseAddress.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(sameSite)).StatusCode);
    }

    [Fact]
    public async Task Answers_carry_nosniff_and_the_page_a_content_security_policy()
    {
        var page = await Client.GetAsync("");
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        var api = await Client.PostAsync("api/predict", Pixels(0));
        Assert.Equal("nosniff", api.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task Concurrent_requests_get_the_answers_of_sequential_ones()
    {
        const int n = 48;
        var sequential = new int[n];
        for (int i = 0; i < n; i++) sequential[i] = (await Json(await Client.PostAsync("api/predict", Pixels(i)))).GetProperty("digit").GetInt32();
        var concurrent = await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            var content = i % 2 == 0 ? Pixels(i) : new ByteArrayContent(server.DigitPng(i));
            var r = await Json(await Client.PostAsync(i % 3 == 0 ? "api/predict?layers=true" : "api/predict", content));
            return r.GetProperty("digit").GetInt32();
        }));
        for (int i = 0; i < n; i += 2) Assert.Equal(sequential[i], concurrent[i]);
        Assert.True(concurrent.Where((d, i) => d == server.TestSet.Labels[i]).Count() >= n - 2);
    }
}
