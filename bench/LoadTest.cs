// `bench -- --load [--clients 50] [--seconds 60]`: lenet serve under load on loopback. The server runs
// as its own process (the built lenet tool); the clients post test digits, half as JSON pixels and
// half as PNG uploads, as fast as answers come. Prints throughput, p50/p99 latency, errors, and the
// server's resident memory (idle, peak, after).
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using LeNet.Data;

static class LoadTest
{
    public static int Run(int clients, double seconds, string dataDir)
    {
        int port = FreePort();
        string cli = Path.Combine(AppContext.BaseDirectory, "LeNet.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cli, "serve", "--urls", $"http://127.0.0.1:{port}" }) psi.ArgumentList.Add(a);
        using var server = Process.Start(psi)!;
        try
        {
            var line = server.StandardOutput.ReadLine();
            if (line is null || !line.StartsWith("Serving")) { Console.Error.WriteLine($"error: lenet serve did not start: {line ?? server.StandardError.ReadToEnd()}"); return 1; }
            var test = MnistDataset.Load(dataDir, train: false);
            var pngs = Enumerable.Range(0, 64).Select(i => DigitImages.ToPng(test.Image(i).ToArray().Select(b => (byte)(255 - b)).ToArray(), 4)).ToArray();
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            http.PostAsJsonAsync("api/predict", new { pixels = test.Image(0).ToArray().Select(b => (int)b) }).Result.EnsureSuccessStatusCode();
            Thread.Sleep(500);
            long idle = Rss(server.Id);
            var latencies = new List<double>[clients];
            int errors = 0;
            long peakSampled = idle;
            var clock = Stopwatch.StartNew();
            var sampler = Task.Run(async () => { while (clock.Elapsed.TotalSeconds < seconds) { peakSampled = Math.Max(peakSampled, Rss(server.Id)); await Task.Delay(100); } });
            var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                var mine = latencies[c] = new List<double>();
                for (int i = c; clock.Elapsed.TotalSeconds < seconds; i += clients)
                {
                    HttpContent content = i % 2 == 0
                        ? JsonContent.Create(new { pixels = test.Image(i % test.Count).ToArray().Select(b => (int)b) })
                        : new ByteArrayContent(pngs[i % pngs.Length]) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };
                    var t = Stopwatch.GetTimestamp();
                    try
                    {
                        using var r = await http.PostAsync("api/predict", content);
                        await r.Content.ReadAsByteArrayAsync();
                        if (!r.IsSuccessStatusCode) Interlocked.Increment(ref errors);
                    }
                    catch (HttpRequestException) { Interlocked.Increment(ref errors); }
                    mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
            })).ToArray();
            Task.WaitAll(tasks);
            sampler.Wait();
            Thread.Sleep(2000);
            long after = Rss(server.Id), peak = Math.Max(peakSampled, Hwm(server.Id));
            var all = latencies.SelectMany(l => l).Order().ToArray();
            double P(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
            Console.WriteLine($"lenet serve under load: {clients} clients for {seconds:F0} s on loopback (half JSON pixels, half PNG uploads)");
            Console.WriteLine($"  requests {all.Length:N0} ({all.Length / clock.Elapsed.TotalSeconds:N0}/s), errors {errors}");
            Console.WriteLine($"  latency p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, max {all.LastOrDefault():F1} ms");
            Console.WriteLine($"  server memory: idle {idle / 1024:N0} MB, peak {peak / 1024:N0} MB, after {after / 1024:N0} MB");
            return errors == 0 ? 0 : 1;
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }

    static long Rss(int pid) => Status(pid, "VmRSS:");
    static long Hwm(int pid) => Status(pid, "VmHWM:");

    static long Status(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException) { return 0; }
    }

    static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
