// The file readers under mutated input: a model file, a checkpoint, IDX files and images either read
// or fail with our domain exception (one clear message), never another exception.
using System.IO.Compression;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Models;
using LeNet.Training;
using SkiaSharp;
using Xunit;

namespace LeNet.Tests.Fuzz;

public sealed class FileFuzzTests
{
    static void Contract<TAllowed>(string surface, Func<int, byte[]> input, Action<byte[]> read) where TAllowed : Exception
    {
        int accepted = 0, refused = 0;
        for (int i = 0; i < Mutator.Iterations; i++)
        {
            var data = input(i);
            try { read(data); accepted++; }
            catch (TAllowed) { refused++; }
            catch (Exception e)
            {
                Assert.Fail($"{surface}, case {i} ({data.Length} bytes): {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.Equal(Mutator.Iterations, accepted + refused);
    }

    static byte[] ModelBytes()
    {
        var net = Architectures.Build(Architectures.Default(Architectures.LeNet5));
        net.Initialize(1);
        var path = Path.Combine(TestPaths.NewTempDirectory(), "m.lenet");
        ModelFile.Save(path, net, new JsonObject { ["testAccuracy"] = 0.99, ["epochs"] = 3 });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void Model_files_read_or_fail_with_InvalidModelFileException()
    {
        var seed = ModelBytes();
        int headerLength = BitConverter.ToInt32(seed, 16);
        var header = JsonNode.Parse(seed.AsSpan(20, headerLength))!;
        var rng = new Random(1);
        Contract<InvalidModelFileException>("model", i => i % 2 == 0
                ? Mutator.Bytes(seed, rng)
                : LeNet.Tests.Models.ModelFileBytes.WithHeader(seed, i % 4 == 1 ? System.Text.Encoding.UTF8.GetBytes(Mutator.Json(header, rng).ToJsonString()) : Mutator.Bytes(seed.AsSpan(20, headerLength).ToArray(), rng)),
            data => ModelFile.ToNetwork(ModelFile.Parse(data, "fuzz.lenet"), "fuzz.lenet"));
    }

    [Fact]
    public void Checkpoints_resume_or_fail_with_a_clear_message()
    {
        var train = MnistDataset.Load(TestPaths.SmallMnist, train: true).Take(64);
        var test = MnistDataset.Load(TestPaths.SmallMnist, train: false).Take(32);
        var dir = TestPaths.NewTempDirectory();
        var options = TrainingOptions.For(Architectures.LeNet5) with { Epochs = 2, BatchSize = 32, Threads = 1 };
        var trainer = new Trainer(options, train, test) { CheckpointPath = Path.Combine(dir, "run.ckpt") };
        trainer.Run();
        var seed = ModelFile.Read(trainer.CheckpointPath);
        var rng = new Random(2);
        var path = Path.Combine(dir, "fuzz.ckpt");
        int iterations = Math.Max(1, Mutator.Iterations / 10);   // each case builds a trainer
        for (int i = 0; i < iterations; i++)
        {
            var meta = (JsonObject)Mutator.Json(seed.Metadata, rng);
            ModelFile.Write(path, new ModelFileContents { Kind = seed.Kind, Architecture = seed.Architecture, Metadata = meta, Sections = seed.Sections });
            try { Trainer.Resume(path, train, test); }
            catch (LeNetException) { }
            catch (Exception e) { Assert.Fail($"checkpoint case {i}: {e.GetType().Name}: {e.Message}\n{meta.ToJsonString()}"); }
        }
    }

    static byte[] Gz(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    [Fact]
    public void Idx_files_read_or_fail_with_InvalidDataFileException()
    {
        var images = File.ReadAllBytes(Path.Combine(TestPaths.SmallMnist, "t10k-images-idx3-ubyte.gz"));
        var raw = Idx.ReadAll(new MemoryStream(images), "seed");
        var small = raw[..(16 + 20 * 784)];
        small[4..8].AsSpan().Clear();
        small[7] = 20;   // 20 images
        var labels = Idx.ReadAll(new MemoryStream(File.ReadAllBytes(Path.Combine(TestPaths.SmallMnist, "t10k-labels-idx1-ubyte.gz"))), "seed")[..(8 + 20)];
        labels[4..8].AsSpan().Clear();
        labels[7] = 20;
        byte[][] seeds = [small, Gz(small), labels, Gz(labels)];
        var rng = new Random(3);
        Contract<InvalidDataFileException>("idx", i => Mutator.Bytes(seeds[i % 4], rng), data =>
        {
            var bytes = Idx.ReadAll(new MemoryStream(data), "fuzz");
            if (bytes.Length >= 4 && bytes[3] == 1) Idx.ParseLabels(bytes, "fuzz"); else Idx.ParseImages(bytes, "fuzz");
        });
    }

    [Fact]
    public void Images_read_or_fail_with_InvalidImageException()
    {
        using var bitmap = new SKBitmap(120, 90);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            canvas.DrawRect(50, 10, 12, 70, new SKPaint { Color = SKColors.Black });
        }
        using var image = SKImage.FromBitmap(bitmap);
        byte[][] seeds = [.. new[] { SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Webp }
            .Select(f => image.Encode(f, 90).ToArray())];
        var rng = new Random(4);
        var reader = new LeNet.Reading.DigitReader(LeNet.Models.PretrainedModels.Load("lenet5"));
        Contract<InvalidImageException>("image", i => Mutator.Bytes(seeds[i % seeds.Length], rng), data => reader.Read(data, "fuzz.png"));
    }
}
