using LeNet.Layers;
using LeNet.Models;
using Xunit;

namespace LeNet.Tests.Models;

public class ArchitectureTests
{
    [Fact]
    public void LeNet5_has_the_keras_parameter_count_and_shapes()
    {
        var s = ModelSummary.Of(Architectures.Build(Architectures.Default(Architectures.LeNet5)));
        Assert.Equal(61_706, s.Parameters);
        Assert.Equal(new[] { 156, 0, 2_416, 0, 48_120, 10_164, 850 }, s.Layers.Select(l => l.Parameters));
        Assert.Equal(new[] { new Shape(6, 28, 28), new Shape(6, 14, 14), new Shape(16, 10, 10), new Shape(16, 5, 5), new Shape(120, 1, 1), new Shape(84, 1, 1), new Shape(10, 1, 1) },
            s.Layers.Select(l => l.OutputShape));
    }

    [Fact]
    public void CnnWide_has_its_parameter_count_and_shapes()
    {
        var s = ModelSummary.Of(Architectures.Build(Architectures.Default(Architectures.CnnWide)));
        Assert.Equal(1_492_070, s.Parameters);
        Assert.Equal(new Shape(60, 7, 7), s.Layers[3].OutputShape);
    }

    [Fact]
    public void CnnDeep_has_its_parameter_count_and_shapes()
    {
        var s = ModelSummary.Of(Architectures.Build(Architectures.Default(Architectures.CnnDeep)));
        Assert.Equal(870_634, s.Parameters);
        Assert.Equal(new[] { 320, 9_248, 0, 18_496, 36_928, 0, 803_072, 2_570 }, s.Layers.Select(l => l.Parameters));
        Assert.Equal(new Shape(64, 7, 7), s.Layers[5].OutputShape);
    }

    [Fact]
    public void Unknown_architecture_is_named_in_the_error() =>
        Assert.Contains("'lenet6'", Assert.Throws<LeNetException>(() => Architectures.Default("lenet6")).Message);

    [Fact]
    public void Forward_gives_probabilities_that_sum_to_one()
    {
        var net = Architectures.Build(Architectures.Default(Architectures.LeNet5));
        net.Initialize(3);
        var images = new byte[3 * 784];
        new Random(1).NextBytes(images);
        var p = new float[30];
        net.Predict(images, 3, p);
        for (int i = 0; i < 3; i++) Assert.Equal(1.0, p.Skip(i * 10).Take(10).Sum(), 4);
    }
}
