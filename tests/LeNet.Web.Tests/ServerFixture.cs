// One real Kestrel server on a free loopback port for all web tests: the shipped lenet5 model and
// a second (untrained) lenet5-1998 model, so the model picker has a choice.
using LeNet.Data;
using LeNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LeNet.Web.Tests;

public sealed class ServerFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public MnistDataset TestSet { get; } = MnistDataset.LoadEmbedded(train: false);
    public string Folder { get; } = Directory.CreateTempSubdirectory("lenet-web-").FullName;

    public async Task InitializeAsync()
    {
        var classic = Architectures.Build(Architectures.Default(Architectures.LeNet5Classic));
        classic.Initialize(7);
        string classicPath = Path.Combine(Folder, "lenet5-1998.lenet");
        ModelFile.Save(classicPath, classic);
        var catalog = ModelCatalog.FromFiles([Path.Combine(AppContext.BaseDirectory, "models", "lenet5.lenet"), classicPath]);
        App = WebServer.Create(new WebServerOptions { Urls = "http://127.0.0.1:0", Models = catalog });
        await App.StartAsync();
        var address = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Client = new HttpClient { BaseAddress = BaseAddress };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>Test image i as a PNG: dark ink on white, enlarged, like a scan or a drawing.</summary>
    public byte[] DigitPng(int i, int scale = 8)
    {
        var pixels = TestSet.Image(i).ToArray();
        for (int k = 0; k < pixels.Length; k++) pixels[k] = (byte)(255 - pixels[k]);
        return DigitImages.ToPng(pixels, scale);
    }
}

[CollectionDefinition("server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
