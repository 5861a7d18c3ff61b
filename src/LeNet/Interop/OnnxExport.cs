// Writes a network as a standard ONNX model (opset 13), readable by ONNX Runtime, Netron and Python.
// Input "image": float [N, 1, 28, 28], MNIST pixel values 0–255 (0 = background, 255 = ink); the
// graph applies the architecture's input encoding itself. Outputs "scores" [N, 10] (logits, or the
// RBF distances of lenet5-1998) and "probabilities" [N, 10].
// Everything is expressed with standard operators: C3's connection table as zero weights, trainable
// subsampling as AveragePool·(4·coefficient) + bias, the scaled tanh as 1.7159·tanh(2a/3), and the
// RBF layer as Σx² − 2·x·Wᵀ + Σw². The messages are the classes that Grpc.Tools generates at build
// time from ONNX's own schema, Interop/onnx.proto.
using Google.Protobuf;
using Onnx;
using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Models;

namespace LeNet.Interop;

public static class OnnxExport
{
    public const int Opset = 13;
    const long IrVersion = 7;  // the IR version that goes with opset 13

    /// <summary>Writes the model atomically.</summary>
    public static void Save(Network network, string path) => AtomicFile.Write(path, ToBytes(network));

    public static byte[] ToBytes(Network network)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX export writes raw little-endian tensors.");
        var g = new Graph();
        if (network.Layers is [CommitteeLayer committee])
        {
            // Each member reads the image its own way; the committee's probabilities are their mean,
            // its scores the log of that mean (as CommitteeLayer computes them).
            var members = committee.Members.Select((m, i) => AddNetwork(g, m, "image", $"member{i}.").Probabilities).ToList();
            string sum = members[0];
            foreach (var m in members.Skip(1)) sum = g.Node("Add", [sum, m]);
            string mean = g.Node("Mul", [sum, g.Const("committee.share", [1f / members.Count], [])]);
            g.Node("Identity", [mean], null, [], "probabilities");
            g.Node("Log", [g.Node("Max", [mean, g.Const("committee.floor", [1e-30f], [])])], null, [], "scores");
        }
        else
        {
            var (scores, probabilities) = AddNetwork(g, network, "image", "");
            g.Node("Identity", [scores], null, [], "scores");
            g.Node("Identity", [probabilities], null, [], "probabilities");
        }

        var graph = g.Proto;
        graph.Name = network.Spec.Name;
        graph.DocString = $"{network.Spec.Name}: input 'image' holds pixel values 0-255 (0 = background, 255 = ink).";
        graph.Input.Add(ValueInfo("image", 1, 28, 28));
        graph.Output.Add(ValueInfo("scores", 10));
        graph.Output.Add(ValueInfo("probabilities", 10));

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "LeNet.NET",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0",
            Domain = "net.lenet",
            DocString = $"LeNet.NET {network.Spec.Name}",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in Metadata(network))
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model.ToByteArray();
    }

    /// <summary>
    /// One network's nodes, reading <paramref name="input"/> (raw pixel values), every name it adds
    /// starting with <paramref name="prefix"/>; returns its scores and its probabilities.
    /// </summary>
    static (string Scores, string Probabilities) AddNetwork(Graph g, Network network, string input, string prefix)
    {
        network = network.ForInference;   // batch normalisation folded into the convolutions, no dropout
        var e = network.Encoding;
        string x = g.Node("Mul", [input, g.Const(prefix + "input_scale", [(e.Ink - e.Background) / 255f], [])]);
        x = g.Node("Add", [x, g.Const(prefix + "input_background", [e.Background], [])]);
        if (e.Pad > 0)
            x = g.Node("Pad", [x, g.ConstInt64(prefix + "input_pads", [0, 0, e.Pad, e.Pad, 0, 0, e.Pad, e.Pad]), g.Const(prefix + "input_pad_value", [e.Background], [])]);

        foreach (var layer in network.Layers)
        {
            var p = network.ParametersOf(layer);
            string n = prefix + layer.Name;
            switch (layer)
            {
                case Conv2d c:
                {
                    int cout = c.OutputShape.C, cin = c.InputShape.C, k = c.KernelSize, pad = c.Padding == Padding.Same ? k / 2 : 0;
                    var w = new float[cout * cin * k * k];  // dense; pairs the connection table leaves out stay zero
                    for (int co = 0; co < cout; co++)
                        for (int ci = 0; ci < cin; ci++) c.Kernel(p, co, ci).CopyTo(w.AsSpan((co * cin + ci) * k * k, k * k));
                    x = g.Node("Conv", [x, g.Const($"{n}.weight", w, [cout, cin, k, k]), g.Const($"{n}.bias", p[^cout..].ToArray(), [cout])], n,
                        Attr.Ints("kernel_shape", k, k), Attr.Ints("pads", pad, pad, pad, pad), Attr.Ints("strides", 1, 1));
                    break;
                }
                case MaxPool2d m:
                    x = g.Node("MaxPool", [x], n, Attr.Ints("kernel_shape", m.Size, m.Size), Attr.Ints("strides", m.Size, m.Size), Attr.Int("ceil_mode", m.Ceil ? 1 : 0));
                    break;
                case AvgPool2d a:
                    x = g.Node("AveragePool", [x], n, Attr.Ints("kernel_shape", a.Size, a.Size), Attr.Ints("strides", a.Size, a.Size));
                    break;
                case Subsampling s:
                {
                    int ch = s.InputShape.C, area = s.Size * s.Size;
                    x = g.Node("AveragePool", [x], n, Attr.Ints("kernel_shape", s.Size, s.Size), Attr.Ints("strides", s.Size, s.Size));
                    var coef = p[..ch].ToArray().Select(v => v * area).ToArray();  // sum = area · mean
                    x = g.Node("Mul", [x, g.Const($"{n}.coefficient", coef, [1, ch, 1, 1])]);
                    x = g.Node("Add", [x, g.Const($"{n}.bias", p[ch..].ToArray(), [1, ch, 1, 1])]);
                    break;
                }
                case Dense d:
                {
                    int outputs = d.OutputShape.C, inputs = d.InputShape.Size;
                    x = g.Node("Flatten", [x], null, Attr.Int("axis", 1));
                    x = g.Node("Gemm", [x, g.Const($"{n}.weight", p[..(outputs * inputs)].ToArray(), [outputs, inputs]), g.Const($"{n}.bias", p[^outputs..].ToArray(), [outputs])], n,
                        Attr.Int("transB", 1));
                    break;
                }
                case RbfOutput r:
                {
                    var centres = RbfOutput.Centres;
                    int units = RbfOutput.Units, classes = r.OutputShape.C;
                    var minus2Wt = new float[units * classes];
                    var wSquared = new float[classes];
                    for (int i = 0; i < classes; i++)
                        for (int j = 0; j < units; j++)
                        {
                            float w = centres[i * units + j];
                            minus2Wt[j * classes + i] = -2 * w;
                            wSquared[i] += w * w;
                        }
                    x = g.Node("Flatten", [x], null, Attr.Int("axis", 1));
                    string xSquared = g.Node("ReduceSumSquare", [x], $"{n}.x_squared", Attr.Ints("axes", 1), Attr.Int("keepdims", 1));
                    string cross = g.Node("MatMul", [x, g.Const($"{n}.minus_2_centres_t", minus2Wt, [units, classes])]);
                    x = g.Node("Add", [g.Node("Add", [cross, xSquared]), g.Const($"{n}.centres_squared", wSquared, [1, classes])], n);
                    break;
                }
                case BatchNorm b:
                {
                    // One that follows no convolution or dense layer stays: its inference form is a scale and a shift per channel.
                    int ch = b.InputShape.C;
                    var scale = new float[ch];
                    var shift = new float[ch];
                    b.InferenceScaleShift(p, scale, shift);
                    bool flat = b.InputShape.H * b.InputShape.W == 1;   // after a dense layer: [N, C]
                    if (flat) x = g.Node("Flatten", [x], null, Attr.Int("axis", 1));
                    long[] shape = flat ? [1, ch] : [1, ch, 1, 1];
                    x = g.Node("Mul", [x, g.Const($"{n}.scale", scale, shape)]);
                    x = g.Node("Add", [x, g.Const($"{n}.shift", shift, shape)], n);
                    break;
                }
                case Dropout:
                    break;
                default:
                    throw new NotSupportedException($"ONNX export does not know the layer kind {layer.Kind}.");
            }
            x = layer.Activation switch
            {
                Activation.None => x,
                Activation.Relu => g.Node("Relu", [x]),
                Activation.Tanh => g.Node("Tanh", [x]),
                Activation.Sigmoid => g.Node("Sigmoid", [x]),
                Activation.ScaledTanh => g.Node("Mul", [g.Node("Tanh", [g.Node("Mul", [x, g.Const("scaled_tanh_s", [Activations.ScaledTanhS], [])])]),
                    g.Const("scaled_tanh_a", [Activations.ScaledTanhA], [])]),
                _ => throw new NotSupportedException($"ONNX export does not know the activation {layer.Activation}."),
            };
        }
        // RBF outputs are distances: the closest centre is the most probable class (softmax of −y).
        string logits = network.Layers[^1] is RbfOutput ? g.Node("Neg", [x]) : x;
        return (x, g.Node("Softmax", [logits], null, [Attr.Int("axis", 1)]));
    }

    /// <summary>
    /// What a program loading the file needs to use it right, as ONNX metadata_props (ONNX Runtime:
    /// <c>session.ModelMetadata.CustomMetadataMap</c>): the class labels, the input it expects, what
    /// the outputs are, and the calibration that the tool applies to the probabilities.
    /// </summary>
    public static IReadOnlyList<(string Key, string Value)> Metadata(Network network)
    {
        var e = network.Encoding;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var items = new List<(string, string)>
        {
            ("architecture", network.Spec.Name),
            ("labels", "0,1,2,3,4,5,6,7,8,9"),
            ("input", "image: float [N,1,28,28], one handwritten digit per image as MNIST draws it: pixel values 0-255, " +
                "0 = background (black), 255 = ink (white); the digit fitted into the central 20x20 keeping its aspect ratio " +
                "and centred by its centre of mass"),
            ("input_normalisation", network.Layers is [CommitteeLayer]
                ? "done inside the graph, by each member its own way; feed raw pixel values, not 0-1"
                : string.Format(inv, "done inside the graph: x * {0} + {1}{2}; feed raw pixel values, not 0-1",
                    (e.Ink - e.Background) / 255f, e.Background, e.Pad > 0 ? $", then padded by {e.Pad} pixels of {e.Background.ToString(inv)}" : "")),
            ("outputs", network.Layers is [CommitteeLayer]
                ? "scores [N,10]: log of the members' mean probabilities; probabilities [N,10]: that mean"
                : network.Layers[^1] is RbfOutput
                ? "scores [N,10]: distance of the output to each class's 7x12 RBF centre (smallest wins); probabilities [N,10]: softmax(-scores)"
                : "scores [N,10]: logits; probabilities [N,10]: softmax(scores)"),
        };
        if (network.Calibration != Calibration.None)
        {
            items.Add(("calibration_temperature", network.Calibration.Temperature.ToString("R", inv)));
            items.Add(("calibration_unsure_below", network.Calibration.UnsureBelow.ToString("R", inv)));
            items.Add(("calibration", "calibrated probability = softmax(log(probabilities) / temperature); an answer below unsure_below is uncertain"));
        }
        return items;
    }

    /// <summary>A float tensor value with a symbolic batch dimension N and the given other dimensions.</summary>
    static ValueInfoProto ValueInfo(string name, params int[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    readonly record struct Attr(string Name, long[]? Values, long? Value)
    {
        public static Attr Ints(string name, params long[] values) => new(name, values, null);
        public static Attr Int(string name, long value) => new(name, null, value);

        public AttributeProto ToProto()
        {
            var a = new AttributeProto { Name = Name };
            if (Value is { } v) { a.I = v; a.Type = AttributeProto.Types.AttributeType.Int; }
            else { a.Ints.Add(Values!); a.Type = AttributeProto.Types.AttributeType.Ints; }
            return a;
        }
    }

    sealed class Graph
    {
        public GraphProto Proto { get; } = new();
        readonly HashSet<string> _constants = [];
        int _next;

        /// <summary>Adds a node and returns the name of its (single) output.</summary>
        public string Node(string op, string[] inputs, string? name = null, params Attr[] attributes) => Node(op, inputs, name, attributes, null);

        public string Node(string op, string[] inputs, string? name, Attr[] attributes, string? output)
        {
            string nodeName = name ?? $"{op}_{_next}";
            output ??= $"{nodeName}_out_{_next}";
            _next++;
            var node = new NodeProto { Name = nodeName, OpType = op };
            node.Input.Add(inputs);
            node.Output.Add(output);
            foreach (var a in attributes) node.Attribute.Add(a.ToProto());
            Proto.Node.Add(node);
            return output;
        }

        public string Const(string name, float[] values, long[] dims) =>
            Initializer(name, TensorProto.Types.DataType.Float, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

        public string ConstInt64(string name, long[] values) =>
            Initializer(name, TensorProto.Types.DataType.Int64, [values.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

        // Values as raw_data: little-endian, as ONNX requires (checked at the start of ToBytes).
        string Initializer(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<byte> raw)
        {
            if (!_constants.Add(name)) return name;
            var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
            t.Dims.Add(dims);
            Proto.Initializer.Add(t);
            return name;
        }
    }
}
