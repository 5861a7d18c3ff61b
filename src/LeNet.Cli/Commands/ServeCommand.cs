// `lenet serve [--model FILE]... [--urls URL]`: the web app (draw a digit, see every layer) and its
// JSON API on Kestrel. Without --model it serves the models that ship with LeNet.NET.
using System.CommandLine;
using LeNet.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LeNet.Cli.Commands;

public static class ServeCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model")
        {
            Description = "A .lenet model file, or a built-in model's name, to serve; repeat for several (the first is the default). Default: the built-in models (lenet5, ...).",
            HelpName = "FILE",
            AllowMultipleArgumentsPerToken = false,
        };
        var urls = new Option<string>("--urls")
        {
            Description = "Address(es) to listen on, separated by ';'. Use http://0.0.0.0:5000 to accept other machines.",
            DefaultValueFactory = _ => "http://127.0.0.1:5000",
            HelpName = "URL",
        };
        urls.Validators.Add(r =>
        {
            foreach (var url in (r.GetValueOrDefault<string>() ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (!Uri.TryCreate(url.Replace("://*", "://localhost").Replace("://+", "://localhost"), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                {
                    r.AddError($"--urls takes http:// or https:// addresses such as http://127.0.0.1:5000 (got '{url}').");
                    return;
                }
        });
        var log = new Option<bool>("--log") { Description = "Log warnings and errors of the web server to the console." };
        var allowTraining = new Option<bool>("--allow-training")
        {
            Description = "Let the page train models (the Train tab, POST /api/train) although the server listens beyond this machine. On loopback addresses (the default) training is allowed anyway.",
        };
        var trainMinutes = new Option<double>("--max-training-minutes")
        {
            Description = "A run started from the page stops after this many minutes, keeping its model. Default: 10.",
            DefaultValueFactory = _ => 10,
            HelpName = "MINUTES",
        };
        trainMinutes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is var m && !(m > 0 && m <= 24 * 60)) r.AddError($"--max-training-minutes must be more than 0 and at most 1440 (got {m}).");
        });
        var cmd = new Command("serve", "Start the web app: draw a digit and see the guesses and every layer, train a model and watch it learn; JSON API at /api.")
        {
            models, urls, log, allowTraining, trainMinutes,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var files = r.GetValue(models) ?? [];
            var catalog = files.Length > 0 ? ModelCatalog.FromFiles(files) : ModelCatalog.Shipped();
            var app = WebServer.Create(new WebServerOptions
            {
                Urls = r.GetValue(urls)!,
                Models = catalog,
                LogRequests = r.GetValue(log),
                AllowTraining = r.GetValue(allowTraining) ? true : null,
                TrainingLimits = new() { MaxDuration = TimeSpan.FromMinutes(r.GetValue(trainMinutes)) },
            });
            try
            {
                await app.StartAsync(ct);
            }
            catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                throw new LeNetException($"Cannot listen on {r.GetValue(urls)}: {e.Message} Pick another address or port with --urls.");
            }
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Console.WriteLine($"Serving {string.Join(", ", catalog.Models.Select(m => m.Name))} at {string.Join(" ", addresses)}");
            Console.WriteLine("Press Ctrl+C to stop.");
            var stop = new TaskCompletionSource();
            using var reg = ct.Register(() => stop.TrySetResult());
            using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
            await stop.Task;
            await app.StopAsync(CancellationToken.None);
            return Cli.Ok;
        });
        return cmd;
    }
}
