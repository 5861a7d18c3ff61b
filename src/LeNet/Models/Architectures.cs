// The model family: the Keras-style LeNet-5 ("lenet5") and the wider CNN ("cnn-wide").
// An ArchitectureSpec names one and its options; it is all a model file needs to rebuild the network.
using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Training;

namespace LeNet.Models;

public enum PoolingKind { Max, Average }

/// <summary>What to build: architecture name plus the options that change its layers.</summary>
public sealed record ArchitectureSpec(string Name, Activation Activation = Activation.Relu, PoolingKind Pooling = PoolingKind.Max)
{
    public override string ToString() => Name == Architectures.LeNet5
        ? $"{Name} ({Activation.ToString().ToLowerInvariant()}, {(Pooling == PoolingKind.Max ? "max" : "average")} pooling)"
        : Name;
}

public static class Architectures
{
    public const string LeNet5 = "lenet5";
    public const string CnnWide = "cnn-wide";

    public static IReadOnlyList<string> Names { get; } = [LeNet5, CnnWide];

    /// <summary>Inputs standardised with the MNIST mean 0.1307 and deviation 0.3081.</summary>
    public static readonly InputEncoding Standardized = new(0, -0.1307f / 0.3081f, (1 - 0.1307f) / 0.3081f);

    public static ArchitectureSpec Default(string name) => name switch
    {
        LeNet5 => new ArchitectureSpec(LeNet5),
        CnnWide => new ArchitectureSpec(CnnWide),
        _ => throw new LeNetException($"Unknown architecture '{name}'. Choose one of: {string.Join(", ", Names)}."),
    };

    public static Network Build(ArchitectureSpec spec) => spec.Name switch
    {
        LeNet5 => BuildLeNet5(spec),
        CnnWide => BuildCnnWide(spec),
        _ => throw new LeNetException($"Unknown architecture '{spec.Name}'. Choose one of: {string.Join(", ", Names)}."),
    };

    /// <summary>28x28 → conv 6@5x5 same → pool → conv 16@5x5 → pool → conv 120@5x5 → dense 84 → dense 10: 61,706 parameters.</summary>
    static Network BuildLeNet5(ArchitectureSpec spec)
    {
        var f = spec.Activation;
        var layers = new List<Layer>();
        var c1 = new Conv2d("conv1", new Shape(1, 28, 28), 6, 5, Padding.Same, f); layers.Add(c1);
        var s2 = Pool("pool1", c1.OutputShape, spec.Pooling); layers.Add(s2);
        var c3 = new Conv2d("conv2", s2.OutputShape, 16, 5, Padding.Valid, f); layers.Add(c3);
        var s4 = Pool("pool2", c3.OutputShape, spec.Pooling); layers.Add(s4);
        var c5 = new Conv2d("conv3", s4.OutputShape, 120, 5, Padding.Valid, f); layers.Add(c5);
        var f6 = new Dense("dense1", c5.OutputShape, 84, f); layers.Add(f6);
        layers.Add(new Dense("output", f6.OutputShape, 10, Activation.None));
        return new Network(spec, Standardized, layers, new SoftmaxCrossEntropy());
    }

    /// <summary>conv 30@3x3 → maxpool → conv 60@3x3 same → maxpool (ceil) → dense 500 → dense 10: 1,492,070 parameters.</summary>
    static Network BuildCnnWide(ArchitectureSpec spec)
    {
        var layers = new List<Layer>();
        var c1 = new Conv2d("conv1", new Shape(1, 28, 28), 30, 3, Padding.Valid, Activation.Relu); layers.Add(c1);
        var p1 = new MaxPool2d("pool1", c1.OutputShape); layers.Add(p1);
        var c2 = new Conv2d("conv2", p1.OutputShape, 60, 3, Padding.Same, Activation.Relu); layers.Add(c2);
        var p2 = new MaxPool2d("pool2", c2.OutputShape, ceil: true); layers.Add(p2);
        var d1 = new Dense("dense1", p2.OutputShape, 500, Activation.Relu); layers.Add(d1);
        layers.Add(new Dense("output", d1.OutputShape, 10, Activation.None));
        return new Network(spec with { Activation = Activation.Relu, Pooling = PoolingKind.Max }, Standardized, layers, new SoftmaxCrossEntropy());
    }

    static Layer Pool(string name, Shape input, PoolingKind kind) =>
        kind == PoolingKind.Max ? new MaxPool2d(name, input) : new AvgPool2d(name, input);
}
