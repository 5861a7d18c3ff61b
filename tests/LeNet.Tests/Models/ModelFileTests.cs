using LeNet.Training;
using LeNet.Layers;
using LeNet.Kernels;
using LeNet.Models;
using Xunit;

namespace LeNet.Tests.Models;

public class ModelFileTests
{
    static readonly string Dir = TestPaths.NewTempDirectory();

    static Network Trained(string arch = Architectures.LeNet5)
    {
        var net = Architectures.Build(Architectures.Default(arch));
        net.Initialize(42);
        return net;
    }

    [Theory]
    [InlineData(Architectures.LeNet5)]
    [InlineData(Architectures.CnnWide)]
    public void Save_then_load_restores_architecture_and_weights_exactly(string arch)
    {
        var net = Trained(arch);
        var path = Path.Combine(Dir, arch + ".lenet");
        ModelFile.Save(path, net);
        var loaded = ModelFile.Load(path);
        Assert.Equal(net.Spec, loaded.Spec);
        Assert.Equal(net.Parameters, loaded.Parameters);
        Assert.Empty(Directory.GetFiles(Dir, "*.tmp"));
    }

    [Fact]
    public void Save_keeps_lenet5_options()
    {
        var net = Architectures.Build(new ArchitectureSpec(Architectures.LeNet5, Activation.Tanh, PoolingKind.Average));
        var path = Path.Combine(Dir, "tanh.lenet");
        ModelFile.Save(path, net);
        Assert.Equal(net.Spec, ModelFile.Load(path).Spec);
    }

    string Saved(string name)
    {
        var path = Path.Combine(Dir, name);
        ModelFile.Save(path, Trained());
        return path;
    }

    // The saved file with its JSON header replaced (lengths and checksum made consistent again), as a
    // careless or hostile writer could produce it.
    byte[] WithHeader(byte[] header) => ModelFileBytes.WithHeader(File.ReadAllBytes(Saved("header.lenet")), header);

    [Theory]
    [InlineData("{\"architecture\":{\"name\":5}}", "\"name\" is number")]
    [InlineData("{\"architecture\":{\"name\":true}}", "\"name\" is true")]
    [InlineData("{\"architecture\":{\"name\":[\"lenet5\"]}}", "\"name\" is array")]
    [InlineData("{\"architecture\":{\"name\":\"lenet5\",\"activation\":{}}}", "\"activation\" is object")]
    [InlineData("{\"architecture\":[]}", "does not name its architecture")]
    [InlineData("{\"architecture\":{\"name\":\"lenet5\"},\"metadata\":7}", "\"metadata\" is not an object")]
    [InlineData("{\"architecture\":{\"name\":\"lenet5\"},\"architecture\":{\"name\":\"lenet5\"}}", "unreadable header")]
    [InlineData("[1,2]", "unreadable header")]
    public void Load_rejects_header_fields_of_the_wrong_type_by_name(string header, string message)
    {
        var e = Assert.Throws<InvalidModelFileException>(() => ModelFile.Parse(WithHeader(System.Text.Encoding.UTF8.GetBytes(header)), "m.lenet"));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Load_rejects_a_header_that_is_not_utf8()
    {
        var e = Assert.Throws<InvalidModelFileException>(() => ModelFile.Parse(WithHeader([(byte)'{', 0xFF, 0xFE, (byte)'}']), "m.lenet"));
        Assert.Contains("unreadable header", e.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(30)]
    [InlineData(1000)]
    [InlineData(-1)]
    public void Load_rejects_truncated_file(int keep)
    {
        var path = Saved($"cut{keep}.lenet");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(keep > 0 ? keep : bytes.Length - 5)]);
        var e = Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(path));
        Assert.True(e.Message.Contains("truncated") || e.Message.Contains("corrupted"), e.Message);
        Assert.Contains(Path.GetFileName(path), e.Message);
    }

    [Fact]
    public void Load_rejects_flipped_bit_by_checksum()
    {
        var path = Saved("flipped.lenet");
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("checksum", Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(path)).Message);
    }

    [Fact]
    public void Load_rejects_foreign_files()
    {
        var path = Path.Combine(Dir, "notes.lenet");
        File.WriteAllText(path, "these are my notes, not a model");
        Assert.Contains("not a LeNet model file", Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(path)).Message);
        File.WriteAllBytes(path, []);
        Assert.Contains("not a LeNet model file", Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(path)).Message);
    }

    [Fact]
    public void Load_rejects_a_newer_format_version()
    {
        var path = Saved("future.lenet");
        var bytes = File.ReadAllBytes(path);
        bytes[8] = 9;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("version 9", Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(path)).Message);
    }

    [Fact]
    public void Load_reports_a_missing_file() =>
        Assert.Contains("not found", Assert.Throws<InvalidModelFileException>(() => ModelFile.Load(Path.Combine(Dir, "nope.lenet"))).Message);

    [Fact]
    public void Failed_save_leaves_the_existing_model_intact()
    {
        var path = Saved("keep.lenet");
        var before = File.ReadAllBytes(path);
        Directory.CreateDirectory(path + ".tmpdir");
        // Saving into a folder that does not exist fails cleanly and touches nothing else.
        Assert.Throws<LeNetException>(() => ModelFile.Save(Path.Combine(Dir, "missing-folder", "x.lenet"), Trained()));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Pretrained_model_in_the_repository_loads()
    {
        var net = ModelFile.Load(TestPaths.PretrainedModel);
        Assert.Equal(Architectures.LeNet5, net.Spec.Name);
    }
}
