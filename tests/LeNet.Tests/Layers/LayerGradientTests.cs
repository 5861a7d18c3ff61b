using LeNet.Kernels;
using LeNet.Layers;
using Xunit;

namespace LeNet.Tests.Layers;

public class LayerGradientTests
{
    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.ScaledTanh)]
    public void Conv2d_valid_backward_matches_finite_differences(Activation f) =>
        GradientCheck.Run(new Conv2d("conv", new Shape(2, 7, 6), 3, 3, Padding.Valid, f));

    [Fact]
    public void Conv2d_same_backward_matches_finite_differences() =>
        GradientCheck.Run(new Conv2d("conv", new Shape(2, 6, 6), 3, 5, Padding.Same, Activation.Tanh));

    [Fact]
    public void Conv2d_relu_backward_matches_finite_differences() =>
        // Inputs and a small step keep pre-activations away from the kink at 0 for most units.
        GradientCheck.Run(new Conv2d("conv", new Shape(1, 6, 6), 2, 3, Padding.Valid, Activation.Relu), eps: 1e-3f, tolerance: 5e-2f);

    [Fact]
    public void Conv2d_with_connection_table_backward_matches_finite_differences()
    {
        var table = new bool[3, 4];
        table[0, 0] = table[0, 1] = true; table[1, 1] = table[1, 2] = table[1, 3] = true; table[2, 0] = table[2, 3] = true;
        var conv = new Conv2d("c3", new Shape(4, 6, 6), 3, 3, Padding.Valid, Activation.ScaledTanh, table);
        Assert.Equal(7 * 9 + 3, conv.ParameterCount);
        GradientCheck.Run(conv);
    }

    [Fact]
    public void Conv2d_over_many_samples_uses_several_chunks_and_matches_finite_differences() =>
        // 20x20 outputs: 1024 columns per chunk hold 2 samples, so 5 samples take 3 chunks.
        GradientCheck.Run(new Conv2d("conv", new Shape(1, 22, 22), 2, 3, Padding.Valid, Activation.Tanh), n: 5, tolerance: 3e-2f);

    [Fact]
    public void MaxPool2d_backward_matches_finite_differences() =>
        GradientCheck.Run(new MaxPool2d("pool", new Shape(2, 6, 4)), eps: 1e-3f);

    [Fact]
    public void MaxPool2d_ceil_backward_matches_finite_differences()
    {
        var pool = new MaxPool2d("pool", new Shape(2, 5, 5), ceil: true);
        Assert.Equal(new Shape(2, 3, 3), pool.OutputShape);
        GradientCheck.Run(pool, eps: 1e-3f);
    }

    [Fact]
    public void AvgPool2d_backward_matches_finite_differences() =>
        GradientCheck.Run(new AvgPool2d("pool", new Shape(3, 4, 6)));

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.ScaledTanh)]
    public void Subsampling_backward_matches_finite_differences(Activation f) =>
        GradientCheck.Run(new Subsampling("s2", new Shape(3, 6, 4), f));

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.ScaledTanh)]
    public void Dense_backward_matches_finite_differences(Activation f) =>
        GradientCheck.Run(new Dense("dense", new Shape(3, 2, 2), 5, f));

    [Fact]
    public void Dense_relu_backward_matches_finite_differences() =>
        GradientCheck.Run(new Dense("dense", new Shape(7, 1, 1), 4, Activation.Relu), eps: 1e-3f, tolerance: 5e-2f);
}
