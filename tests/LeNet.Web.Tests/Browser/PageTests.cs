// The page in a real Chromium (Debian's package, driven by Playwright): draw digits with the mouse,
// upload an image, toggle a layer, open a kernel, and look at it on a phone and in dark mode.
// Screenshots go to bin/.../screenshots.
using Microsoft.Playwright;

namespace LeNet.Web.Tests.Browser;

[Collection("server")]
public sealed class PageTests(ServerFixture server) : IAsyncLifetime
{
    const string Chromium = "/usr/bin/chromium";
    static readonly string Screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;
    IPlaywright _playwright = null!;
    IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
            throw new InvalidOperationException($"The browser tests need Chromium at {Chromium}: apt-get install chromium (.ci/run installs it).");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    internal async Task<IPage> Open(BrowserNewPageOptions? options = null)
    {
        var page = await _browser.NewPageAsync(options ?? new() { ViewportSize = new() { Width = 1280, Height = 1000 } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(server.BaseAddress.ToString());
        // The fixture's two models, and any that training tests added.
        await Assertions.Expect(page.Locator("#model option").Nth(1)).ToBeAttachedAsync();
        Assert.Empty(errors);
        return page;
    }

    /// <summary>Draws a stroke through points given in the pad's 280x280 coordinates.</summary>
    internal static async Task Stroke(IPage page, params (float X, float Y)[] points)
    {
        var box = (await page.Locator("#pad").BoundingBoxAsync())!;
        float sx = box.Width / 280, sy = box.Height / 280;
        await page.Mouse.MoveAsync(box.X + points[0].X * sx, box.Y + points[0].Y * sy);
        await page.Mouse.DownAsync();
        foreach (var (x, y) in points.Skip(1)) await page.Mouse.MoveAsync(box.X + x * sx, box.Y + y * sy, new() { Steps = 8 });
        await page.Mouse.UpAsync();
    }

    static (float, float)[] Ellipse(float cx, float cy, float rx, float ry) =>
        Enumerable.Range(0, 33).Select(i => (cx + rx * MathF.Sin(i * MathF.Tau / 32), cy - ry * MathF.Cos(i * MathF.Tau / 32))).ToArray();

    [Fact]
    public async Task Drawing_digits_with_the_mouse_shows_the_right_guess()
    {
        var page = await Open();
        var guess = page.Locator("#guess1");

        await Stroke(page, (80, 60), (200, 60), (125, 230));
        await Assertions.Expect(guess).ToHaveTextAsync("7");
        await Assertions.Expect(page.Locator("#guess2")).Not.ToHaveTextAsync("–");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "draw-7.png"), FullPage = true });

        await page.ClickAsync("#clear");
        await Assertions.Expect(guess).ToHaveTextAsync("–");
        await Stroke(page, Ellipse(140, 140, 55, 90));
        await Assertions.Expect(guess).ToHaveTextAsync("0");

        await page.ClickAsync("#clear");
        await Stroke(page, (150, 40), (140, 240));
        await Assertions.Expect(guess).ToHaveTextAsync("1");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "draw-1.png"), FullPage = true });

        // Undo brings back the empty pad; the 28x28 view shows what the network saw.
        await page.ClickAsync("#undo");
        await Assertions.Expect(guess).ToHaveTextAsync("–");
    }

    [Fact]
    public async Task Uploading_an_image_file_shows_its_guess()
    {
        var page = await Open();
        string file = Path.Combine(server.Folder, "digit.png");
        int index = Enumerable.Range(0, 100).First(i => server.TestSet.Labels[i] == 4);
        File.WriteAllBytes(file, server.DigitPng(index, scale: 10));
        await page.SetInputFilesAsync("#file", file);
        await Assertions.Expect(page.Locator("#guess1")).ToHaveTextAsync("4");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("digit.png");

        string text = Path.Combine(server.Folder, "notes.png");
        File.WriteAllText(text, "not an image");
        await page.SetInputFilesAsync("#file", text);
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("not an image");
        await Assertions.Expect(page.Locator("#status")).ToHaveClassAsync("status error");
    }

    [Fact]
    public async Task Uploading_a_photo_of_a_number_shows_the_number_its_boxes_and_the_stages()
    {
        var page = await Open();
        var sample = new LeNet.PhotoLab.Conditions(server.TestSet, fonts: []).One(LeNet.PhotoLab.Condition.Number, 0);
        string file = Path.Combine(server.Folder, "number.jpg");
        File.WriteAllBytes(file, sample.Bytes);
        await page.SetInputFilesAsync("#file", file);
        await Assertions.Expect(page.Locator("#number")).ToHaveTextAsync(sample.Label);
        await Assertions.Expect(page.Locator("#digits span")).ToHaveCountAsync(sample.Label.Length);
        await Assertions.Expect(page.Locator("#stages")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#stage-list img")).ToHaveCountAsync(4);
        // The boxes are drawn over the pad: some of its pixels are green or orange.
        long coloured = await page.EvaluateAsync<long>(@"() => {
            const d = document.getElementById('boxes').getContext('2d').getImageData(0, 0, 280, 280).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) n++; return n; }");
        Assert.True(coloured > 100, $"{coloured} box pixels");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "upload-number.png"), FullPage = true });

        // Drawing again hides the photo's stages.
        await page.ClickAsync("#clear");
        await Assertions.Expect(page.Locator("#stages")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task Layers_can_be_hidden_and_a_feature_map_shows_its_kernels()
    {
        var page = await Open();
        await Stroke(page, (150, 40), (140, 240));
        await Assertions.Expect(page.Locator("#guess1")).ToHaveTextAsync("1");

        var conv1 = page.Locator("section.layer[data-layer=conv1]");
        await Assertions.Expect(conv1.Locator(".map")).ToHaveCountAsync(6);
        await conv1.GetByLabel("Show").UncheckAsync();
        await Assertions.Expect(conv1.Locator(".maps")).ToBeHiddenAsync();
        await conv1.GetByLabel("Show").CheckAsync();
        await Assertions.Expect(conv1.Locator(".maps")).ToBeVisibleAsync();

        // Keyboard: focus a conv2 map and press Enter.
        var map = page.Locator("section.layer[data-layer=conv2] .map").Nth(3);
        await map.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var detail = page.Locator("#detail");
        await Assertions.Expect(detail).ToBeVisibleAsync();
        await Assertions.Expect(detail.Locator("h3")).ToHaveTextAsync("conv2, map 3");
        await Assertions.Expect(detail.Locator(".kernel canvas")).ToHaveCountAsync(6);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "layers.png"), FullPage = true });

        // The 1998 model: C3 map 0 is connected to three S2 maps only.
        await page.SelectOptionAsync("#model", "lenet5-1998");
        await Assertions.Expect(page.Locator("section.layer[data-layer=C3] .map")).ToHaveCountAsync(16);
        await page.Locator("section.layer[data-layer=C3] .map").First.ClickAsync();
        await Assertions.Expect(detail.Locator(".kernel canvas")).ToHaveCountAsync(3);
        await Assertions.Expect(detail.Locator(".kernel.off")).ToHaveCountAsync(3);
    }

    [Fact]
    public async Task The_page_fits_a_phone_and_reads_in_dark_mode()
    {
        var page = await Open(new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, ColorScheme = ColorScheme.Dark, DeviceScaleFactor = 2 });
        await Stroke(page, (80, 60), (200, 60), (125, 230));
        await Assertions.Expect(page.Locator("#guess1")).ToHaveTextAsync("7");
        int overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"The page is {overflow}px wider than a phone screen.");
        string background = await page.EvaluateAsync<string>("() => getComputedStyle(document.documentElement).backgroundColor");
        Assert.Equal("rgb(18, 20, 26)", background);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "phone-dark.png"), FullPage = true });

        // While drawing at the top of the page, the reading is in sight: in the result panel if it
        // fits on the screen, otherwise in the strip at the bottom.
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        var reading = page.Locator(".result .reading");
        var strip = page.GetByTestId("strip");
        bool readingInSight = await reading.EvaluateAsync<bool>("e => { const b = e.getBoundingClientRect(); return b.top >= 0 && b.bottom <= window.innerHeight; }");
        if (!readingInSight)
        {
            await Assertions.Expect(strip).ToBeVisibleAsync();
            await Assertions.Expect(strip).ToBeInViewportAsync();
            await Assertions.Expect(strip.Locator("output")).ToHaveTextAsync("7");
        }
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "phone-drawing.png") });
        // Scrolled down to the result, the strip goes away.
        await reading.ScrollIntoViewIfNeededAsync();
        await Assertions.Expect(strip).ToBeHiddenAsync();

        // Tapping a feature map far down the page brings its details into sight.
        var map = page.Locator("section.layer[data-layer=conv2] .map").Nth(5);
        await map.TapAsync();
        var detail = page.Locator("#detail");
        await Assertions.Expect(detail.Locator("h3")).ToHaveTextAsync("conv2, map 5");
        await Assertions.Expect(detail).ToBeInViewportAsync();

        // The Train tab fits too.
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.GetByRole(AriaRole.Tab, new() { Name = "Train" }).TapAsync();
        await Assertions.Expect(page.Locator("#train-start")).ToBeVisibleAsync();
        overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"The Train tab is {overflow}px wider than a phone screen.");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "phone-train.png"), FullPage = true });
    }

    [Fact]
    public async Task Every_layer_has_its_colour_scale()
    {
        var page = await Open();
        await Stroke(page, (150, 40), (140, 240));
        await Assertions.Expect(page.Locator("#guess1")).ToHaveTextAsync("1");
        // lenet5: conv1, pool1, conv2, pool2 as grey maps; conv3 and dense1 as units; the output as bars.
        var scales = page.GetByTestId("scale");
        await Assertions.Expect(scales).ToHaveCountAsync(6);
        await Assertions.Expect(page.Locator("section.layer[data-layer=conv1] .scale .ramp.grey")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("section.layer[data-layer=dense1] .scale .ramp.diverging")).ToBeVisibleAsync();
        string dense = await page.Locator("section.layer[data-layer=dense1] .scale").InnerTextAsync();
        Assert.Matches(@"^−\d+(\.\d+)?\s+\+\d+(\.\d+)?$", dense.Trim());
        string conv = await page.Locator("section.layer[data-layer=conv1] .scale").InnerTextAsync();
        Assert.Matches(@"^-?\d+(\.\d+)?\s+-?\d+(\.\d+)?$", conv.Trim());
    }

    // ---------- the Train tab, compare, connections ----------

    [Fact]
    public async Task A_run_started_from_the_page_draws_its_curves_and_its_model_can_be_compared()
    {
        var page = await Open(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        await page.ClickAsync("#tab-train");
        await Assertions.Expect(page.Locator("#view-train")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#view-draw")).ToBeHiddenAsync();
        // A few thousand images, enough epochs to still be running when it is stopped.
        await page.FillAsync("#train-form [name=epochs]", "30");
        await page.FillAsync("#train-form [name=limit]", "6400");
        await page.FillAsync("#train-form [name=lr]", "0.004");
        await page.FillAsync("#train-form [name=keep]", "40");
        await page.ClickAsync("#train-start");

        var loss = page.GetByTestId("chart-loss");
        await Assertions.Expect(loss).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^([3-9]|[1-9][0-9]+)$"), new() { Timeout = 60_000 });
        var strip = page.GetByTestId("guess-strip");
        await Assertions.Expect(strip.Locator("figure")).ToHaveCountAsync(20);
        await Assertions.Expect(strip).ToHaveAttributeAsync("data-step", new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));
        await Assertions.Expect(strip.Locator("figure.right, figure.wrong")).ToHaveCountAsync(20);
        await Assertions.Expect(page.GetByTestId("chart-accuracy")).ToHaveAttributeAsync("data-test-points", new System.Text.RegularExpressions.Regex("^[1-9]"), new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("train-status")).ToContainTextAsync("images/s");

        // The page stays smooth while the server trains: frames drawn in one second.
        int frames = await page.EvaluateAsync<int>(@"() => new Promise(done => { let n = 0; const t0 = performance.now();
            const f = () => { n++; if (performance.now() - t0 < 1000) requestAnimationFrame(f); else done(n); }; requestAnimationFrame(f); })");
        Console.WriteLine($"Frames in one second while training: {frames}");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "train-live.png"), FullPage = true });
        Assert.True(frames >= 10, $"{frames} frames in one second while training");

        await page.ClickAsync("#train-stop");
        var done = page.GetByTestId("train-done");
        await Assertions.Expect(done).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("train-status")).ToContainTextAsync("Stopped");
        string model = (await done.TextContentAsync())!.Split(' ')[0];
        Assert.Matches("^lenet5-run[0-9]+$", model);
        await Assertions.Expect(page.Locator($"#model option[value='{model}']")).ToBeAttachedAsync();
        await Assertions.Expect(page.Locator($"#model option[value='{model}-step40']")).ToBeAttachedAsync();
        await Assertions.Expect(page.Locator("#train-start")).ToBeEnabledAsync();

        // Draw with the new model, compared with the built-in one.
        await done.GetByRole(AriaRole.Button, new() { Name = "Draw with it" }).ClickAsync();
        await Assertions.Expect(page.Locator("#view-draw")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#model")).ToHaveValueAsync(model);
        // Set beside its own early copy at first; here compared with the built-in model instead.
        await Assertions.Expect(page.Locator("#compare-model")).ToHaveValueAsync($"{model}-step40");
        await page.SelectOptionAsync("#compare-model", "lenet5");
        await Stroke(page, (150, 40), (140, 240));
        await Assertions.Expect(page.GetByTestId("compare-guess-b")).ToHaveTextAsync("1");
        await Assertions.Expect(page.GetByTestId("compare-a").Locator("h3")).ToHaveTextAsync(model);
        await Assertions.Expect(page.GetByTestId("compare-b").Locator("h3")).ToHaveTextAsync("lenet5");
        await Assertions.Expect(page.GetByTestId("compare-a").Locator("canvas").First).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "compare.png"), FullPage = true });
    }

    [Fact]
    public async Task Hovering_a_C3_unit_shows_the_input_it_sees_and_the_S2_maps_that_feed_it()
    {
        var page = await Open(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        await page.SelectOptionAsync("#model", "lenet5-1998");
        await Stroke(page, (150, 40), (140, 240));
        var c3 = page.Locator("section.layer[data-layer=C3] .map canvas:not(.hl)");
        await Assertions.Expect(c3).ToHaveCountAsync(16);
        var info = page.GetByTestId("connection");
        // Before any pointing the overlays are clear, and every map is drawn on its own canvas.
        int paintedOverlays = await page.EvaluateAsync<int>(@"() => [...document.querySelectorAll('#layers canvas.hl')].filter(o => {
            const d = o.getContext('2d').getImageData(0, 0, o.width, o.height).data; for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }).length");
        Assert.Equal(0, paintedOverlays);
        int blankC1 = await page.EvaluateAsync<int>(@"() => [...document.querySelectorAll('section.layer[data-layer=C1] .map canvas:not(.hl)')].filter(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4) if (d[i]) return false; return true; }).length");
        Assert.Equal(0, blankC1);

        // Unit (3, 4) of C3's map 0: 5x5 of S2, which is 10x10 of C1, which is 14x14 of the 32x32 input
        // from (2·3, 2·4); the paper's Table I feeds map 0 from S2 maps 0, 1 and 2 only.
        await HoverUnit(page, c3.Nth(0), 10, 3, 4);
        await Assertions.Expect(info).ToHaveAttributeAsync("data-region", "6,8,14,14");
        await Assertions.Expect(info).ToHaveAttributeAsync("data-feeds", "0,1,2");
        var s2 = page.Locator("section.layer[data-layer=S2] .map");
        await Assertions.Expect(s2.And(page.Locator(".feeds"))).ToHaveCountAsync(3);
        await Assertions.Expect(s2.And(page.Locator(".dim"))).ToHaveCountAsync(3);
        for (int i = 0; i < 6; i++)
            await Assertions.Expect(s2.Nth(i)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(i < 3 ? "feeds" : "dim"));
        await Assertions.Expect(info).ToContainTextAsync("S2 maps 0, 1, 2");
        // The weights are painted over the window of each feeding map: its overlay has coloured pixels there.
        long painted = await s2.Nth(1).Locator("canvas.hl").EvaluateAsync<long>(@"o => {
            const d = o.getContext('2d').getImageData(0, 0, o.width, o.height).data; let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }");
        Assert.True(painted > 0, "no weights painted on S2 map 1");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "connections.png"), FullPage = true });

        // Map 15 reads every S2 map; a C1 unit reads a 5x5 square of the input.
        await HoverUnit(page, c3.Nth(15), 10, 0, 0);
        await Assertions.Expect(info).ToHaveAttributeAsync("data-feeds", "0,1,2,3,4,5");
        await Assertions.Expect(info).ToHaveAttributeAsync("data-region", "0,0,14,14");
        await HoverUnit(page, page.Locator("section.layer[data-layer=C1] .map canvas:not(.hl)").Nth(2), 28, 20, 7);
        await Assertions.Expect(info).ToHaveAttributeAsync("data-region", "20,7,5,5");
        // Leaving the maps clears it.
        await page.Mouse.MoveAsync(5, 5);
        await Assertions.Expect(info).ToHaveTextAsync("");
    }

    static async Task HoverUnit(IPage page, ILocator canvas, int side, int x, int y)
    {
        await canvas.ScrollIntoViewIfNeededAsync();
        var box = (await canvas.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + (x + 0.5f) * box.Width / side, box.Y + (y + 0.5f) * box.Height / side);
    }

    [Fact]
    public async Task The_page_at_desktop_size_in_light_and_dark()
    {
        foreach (var scheme in new[] { ColorScheme.Light, ColorScheme.Dark })
        {
            var page = await Open(new() { ViewportSize = new() { Width = 1400, Height = 1000 }, ColorScheme = scheme });
            await Stroke(page, (80, 60), (200, 60), (125, 230));
            await Assertions.Expect(page.Locator("#guess1")).ToHaveTextAsync("7");
            int overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"The page is {overflow}px wider than the window.");
            // The pad and the guess side by side, both in the first screen.
            await Assertions.Expect(page.Locator("#pad")).ToBeInViewportAsync();
            await Assertions.Expect(page.Locator(".result .reading")).ToBeInViewportAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, $"desktop-{scheme.ToString().ToLowerInvariant()}.png") });
            await page.ClickAsync("#tab-train");
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, $"desktop-train-{scheme.ToString().ToLowerInvariant()}.png") });
            await page.CloseAsync();
        }
    }
}
