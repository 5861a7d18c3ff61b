// The model family: the Keras-style LeNet-5 ("lenet5"), the 1998 network ("lenet5-1998"), the wider
// CNN ("cnn-wide") and a deeper one ("cnn-deep"); committees of them (Committee).
// An ArchitectureSpec names one and its options; it is all a model file needs to rebuild the network.
using LeNet.Kernels;
using LeNet.Layers;

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
    public const string LeNet5Classic = "lenet5-1998";

    public const string CnnDeep = "cnn-deep";
    public const string CnnBn = "cnn-bn";
    /// <summary>Another name for the architecture with the lowest test error (<see cref="CnnBn"/>).</summary>
    public const string Best = "best";
    public static IReadOnlyList<string> Names { get; } = [LeNet5, LeNet5Classic, CnnWide, CnnDeep, CnnBn];

    /// <summary>The architecture a name stands for: <see cref="Best"/> is <see cref="CnnBn"/>, the others themselves.</summary>
    public static string Resolve(string name) => name == Best ? CnnBn : name;

    /// <summary>Inputs standardised with the MNIST mean 0.1307 and deviation 0.3081.</summary>
    public static readonly InputEncoding Standardized = new(0, -0.1307f / 0.3081f, (1 - 0.1307f) / 0.3081f);

    public static ArchitectureSpec Default(string name) => Resolve(name) switch
    {
        CnnBn => new ArchitectureSpec(CnnBn),
        LeNet5 => new ArchitectureSpec(LeNet5),
        CnnWide => new ArchitectureSpec(CnnWide),
        CnnDeep => new ArchitectureSpec(CnnDeep),
        LeNet5Classic => new ArchitectureSpec(LeNet5Classic, Activation.ScaledTanh),
        _ => throw new LeNetException($"Unknown architecture '{name}'. Choose one of: {string.Join(", ", Names)}."),
    };

    public static Network Build(ArchitectureSpec spec) => spec.Name switch
    {
        LeNet5 => BuildLeNet5(spec),
        CnnWide => BuildCnnWide(spec),
        CnnDeep => BuildCnnDeep(spec),
        CnnBn => BuildCnnBn(spec),
        LeNet5Classic => BuildClassic(spec),
        _ when Committee.IsCommittee(spec) => Committee.Build(spec),
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

    /// <summary>
    /// conv 32@3x3 same → conv 32@3x3 same → maxpool → conv 64@3x3 same → conv 64@3x3 same → maxpool →
    /// dense 256 → dense 10: 870,634 parameters. Four small convolutions in two stages, as VGG-style
    /// networks stack them; with elastic distortions 99.66% (docs/training.md).
    /// </summary>
    static Network BuildCnnDeep(ArchitectureSpec spec)
    {
        var layers = new List<Layer>();
        var c1 = new Conv2d("conv1", new Shape(1, 28, 28), 32, 3, Padding.Same, Activation.Relu); layers.Add(c1);
        var c2 = new Conv2d("conv2", c1.OutputShape, 32, 3, Padding.Same, Activation.Relu); layers.Add(c2);
        var p1 = new MaxPool2d("pool1", c2.OutputShape); layers.Add(p1);
        var c3 = new Conv2d("conv3", p1.OutputShape, 64, 3, Padding.Same, Activation.Relu); layers.Add(c3);
        var c4 = new Conv2d("conv4", c3.OutputShape, 64, 3, Padding.Same, Activation.Relu); layers.Add(c4);
        var p2 = new MaxPool2d("pool2", c4.OutputShape); layers.Add(p2);
        var d1 = new Dense("dense1", p2.OutputShape, 256, Activation.Relu); layers.Add(d1);
        layers.Add(new Dense("output", d1.OutputShape, 10, Activation.None));
        return new Network(spec with { Activation = Activation.Relu, Pooling = PoolingKind.Max }, Standardized, layers, new SoftmaxCrossEntropy());
    }

    /// <summary>
    /// cnn-deep with batch normalisation after each convolution and dropout before the output:
    /// conv 32@3x3 same → BN → conv 32@3x3 same → BN → maxpool → conv 64@3x3 same → BN → conv 64@3x3 same → BN →
    /// maxpool → dense 256 → dropout 0.3 → dense 10 (relu after each BN and the dense layer): 871,402
    /// parameters, of which 384 are batch statistics. Inference folds each BN into its convolution.
    /// </summary>
    static Network BuildCnnBn(ArchitectureSpec spec)
    {
        var layers = new List<Layer>();
        Shape shape = new(1, 28, 28);
        foreach (var (name, maps) in new[] { ("1", 32), ("2", 32), ("pool1", 0), ("3", 64), ("4", 64), ("pool2", 0) })
        {
            Layer l = maps == 0 ? new MaxPool2d(name, shape) : new Conv2d("conv" + name, shape, maps, 3, Padding.Same, Activation.None);
            layers.Add(l);
            if (maps > 0) layers.Add(l = new BatchNorm("bn" + name, l.OutputShape, Activation.Relu));
            shape = l.OutputShape;
        }
        var d1 = new Dense("dense1", shape, 256, Activation.Relu); layers.Add(d1);
        var drop = new Dropout("dropout", d1.OutputShape, 0.3f); layers.Add(drop);
        layers.Add(new Dense("output", drop.OutputShape, 10, Activation.None));
        return new Network(spec with { Activation = Activation.Relu, Pooling = PoolingKind.Max }, Standardized, layers, new SoftmaxCrossEntropy());
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

    /// <summary>
    /// The paper's input (Sec. II-A): the 28x28 digit padded to 32x32, background −0.1 and ink 1.175,
    /// so that the mean is about 0 and the variance about 1.
    /// </summary>
    public static readonly InputEncoding Paper = new(2, -0.1f, 1.175f);

    /// <summary>
    /// C3's connections to S2 (paper, Table I): C3 map j reads the S2 maps listed. Maps 0–5 take 3
    /// contiguous maps, 6–11 take 4 contiguous, 12–14 take 4 non-contiguous, 15 takes all 6.
    /// </summary>
    public static readonly int[][] C3ConnectionTable =
    [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
        [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
        [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
        [0, 1, 2, 3, 4, 5],
    ];

    /// <summary>LeNet-5 as published in 1998: C1, S2, C3 (table), S4, C5, F6 with the scaled tanh, then the RBF output.</summary>
    static Network BuildClassic(ArchitectureSpec spec)
    {
        const Activation f = Activation.ScaledTanh;
        var table = new bool[16, 6];
        for (int j = 0; j < 16; j++) foreach (int i in C3ConnectionTable[j]) table[j, i] = true;
        var layers = new List<Layer>();
        var c1 = new Conv2d("C1", new Shape(1, 32, 32), 6, 5, Padding.Valid, f); layers.Add(c1);
        var s2 = new Subsampling("S2", c1.OutputShape, f); layers.Add(s2);
        var c3 = new Conv2d("C3", s2.OutputShape, 16, 5, Padding.Valid, f, table); layers.Add(c3);
        var s4 = new Subsampling("S4", c3.OutputShape, f); layers.Add(s4);
        var c5 = new Conv2d("C5", s4.OutputShape, 120, 5, Padding.Valid, f); layers.Add(c5);
        var f6 = new Dense("F6", c5.OutputShape, 84, f); layers.Add(f6);
        layers.Add(new RbfOutput("output", f6.OutputShape));
        return new Network(spec with { Activation = f, Pooling = PoolingKind.Average }, Paper, layers, new RbfMaximumAPosteriori());
    }

    static Layer Pool(string name, Shape input, PoolingKind kind) =>
        kind == PoolingKind.Max ? new MaxPool2d(name, input) : new AvgPool2d(name, input);
}
