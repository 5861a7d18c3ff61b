// Writes a network as a standard ONNX model (opset 13), readable by ONNX Runtime, Netron and Python.
// Input "image": float [N, 1, 28, 28], MNIST pixel values 0–255 (0 = background, 255 = ink); the
// graph applies the architecture's input encoding itself. Outputs "scores" [N, 10] (logits, or the
// RBF distances of lenet5-1998) and "probabilities" [N, 10].
// Everything is expressed with standard operators: C3's connection table as zero weights, trainable
// subsampling as AveragePool·(4·coefficient) + bias, the scaled tanh as 1.7159·tanh(2a/3), and the
// RBF layer as Σx² − 2·x·Wᵀ + Σw². The protobuf messages are written by hand with Google.Protobuf's
// CodedOutputStream, field numbers from onnx.proto.
using Google.Protobuf;
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
        var e = network.Encoding;
        string x = g.Node("Mul", ["image", g.Const("input_scale", [(e.Ink - e.Background) / 255f], [])]);
        x = g.Node("Add", [x, g.Const("input_background", [e.Background], [])]);
        if (e.Pad > 0)
            x = g.Node("Pad", [x, g.ConstInt64("input_pads", [0, 0, e.Pad, e.Pad, 0, 0, e.Pad, e.Pad]), g.Const("input_pad_value", [e.Background], [])]);

        foreach (var layer in network.Layers)
        {
            var p = network.ParametersOf(layer);
            string n = layer.Name;
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
        g.Node("Identity", [x], null, [], "scores");
        // RBF outputs are distances: the closest centre is the most probable class (softmax of −y).
        string logits = network.Layers[^1] is RbfOutput ? g.Node("Neg", [x]) : x;
        g.Node("Softmax", [logits], null, [Attr.Int("axis", 1)], "probabilities");

        var graph = new Message();
        foreach (var node in g.Nodes) graph.Sub(1, node);
        graph.String(2, network.Spec.Name);
        foreach (var init in g.Initializers) graph.Sub(5, init);
        graph.String(10, $"{network.Spec.Name}: input 'image' holds pixel values 0-255 (0 = background, 255 = ink).");
        graph.Sub(11, ValueInfo("image", 1, 28, 28));
        graph.Sub(12, ValueInfo("scores", 10));
        graph.Sub(12, ValueInfo("probabilities", 10));

        var model = new Message();
        model.Int64(1, IrVersion);
        model.String(2, "LeNet.NET");
        model.String(3, typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0");
        model.String(4, "net.lenet");
        model.String(6, $"LeNet.NET {network.Spec.Name}");
        model.Sub(7, graph.ToArray());
        var opset = new Message();
        opset.String(1, "");
        opset.Int64(2, Opset);
        model.Sub(8, opset.ToArray());
        foreach (var (key, value) in Metadata(network))
        {
            var entry = new Message();
            entry.String(1, key);
            entry.String(2, value);
            model.Sub(14, entry.ToArray());
        }
        return model.ToArray();
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
            ("input_normalisation", string.Format(inv, "done inside the graph: x * {0} + {1}{2}; feed raw pixel values, not 0-1",
                (e.Ink - e.Background) / 255f, e.Background, e.Pad > 0 ? $", then padded by {e.Pad} pixels of {e.Background.ToString(inv)}" : "")),
            ("outputs", network.Layers[^1] is RbfOutput
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
    static byte[] ValueInfo(string name, params int[] dims)
    {
        var shape = new Message();
        var batch = new Message();
        batch.String(2, "N");
        shape.Sub(1, batch.ToArray());
        foreach (var d in dims)
        {
            var dim = new Message();
            dim.Int64(1, d);
            shape.Sub(1, dim.ToArray());
        }
        var tensor = new Message();
        tensor.Int64(1, 1);  // FLOAT
        tensor.Sub(2, shape.ToArray());
        var type = new Message();
        type.Sub(1, tensor.ToArray());
        var info = new Message();
        info.String(1, name);
        info.Sub(2, type.ToArray());
        return info.ToArray();
    }

    /// <summary>One protobuf message being written: fields in order, nested messages as bytes.</summary>
    sealed class Message
    {
        readonly MemoryStream _stream = new();
        readonly CodedOutputStream _out;
        public Message() => _out = new CodedOutputStream(_stream, leaveOpen: true);

        public void Int64(int field, long value) { _out.WriteTag(field, WireFormat.WireType.Varint); _out.WriteInt64(value); }
        public void String(int field, string value) { _out.WriteTag(field, WireFormat.WireType.LengthDelimited); _out.WriteString(value); }
        public void Bytes(int field, byte[] value) { _out.WriteTag(field, WireFormat.WireType.LengthDelimited); _out.WriteBytes(ByteString.CopyFrom(value)); }
        public void Sub(int field, byte[] message) => Bytes(field, message);
        public void Float(int field, float value) { _out.WriteTag(field, WireFormat.WireType.Fixed32); _out.WriteFloat(value); }

        public byte[] ToArray()
        {
            _out.Flush();
            return _stream.ToArray();
        }
    }

    readonly record struct Attr(string Name, long[]? Values, long? Value)
    {
        public static Attr Ints(string name, params long[] values) => new(name, values, null);
        public static Attr Int(string name, long value) => new(name, null, value);

        public byte[] ToBytes()
        {
            var a = new Message();
            a.String(1, Name);
            if (Value is { } v) { a.Int64(3, v); a.Int64(20, 2); }  // INT
            else { foreach (var x in Values!) a.Int64(8, x); a.Int64(20, 7); }  // INTS
            return a.ToArray();
        }
    }

    sealed class Graph
    {
        public List<byte[]> Nodes { get; } = [];
        public List<byte[]> Initializers { get; } = [];
        readonly HashSet<string> _constants = [];
        int _next;

        /// <summary>Adds a node and returns the name of its (single) output.</summary>
        public string Node(string op, string[] inputs, string? name = null, params Attr[] attributes) => Node(op, inputs, name, attributes, null);

        public string Node(string op, string[] inputs, string? name, Attr[] attributes, string? output)
        {
            string nodeName = name ?? $"{op}_{_next}";
            output ??= $"{nodeName}_out_{_next}";
            _next++;
            var node = new Message();
            foreach (var i in inputs) node.String(1, i);
            node.String(2, output);
            node.String(3, nodeName);
            node.String(4, op);
            foreach (var a in attributes) node.Sub(5, a.ToBytes());
            Nodes.Add(node.ToArray());
            return output;
        }

        public string Const(string name, float[] values, long[] dims)
        {
            if (!_constants.Add(name)) return name;
            var t = new Message();
            foreach (var d in dims) t.Int64(1, d);
            t.Int64(2, 1);  // FLOAT
            t.String(8, name);
            var raw = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length);  // little-endian, as ONNX's raw_data requires
            t.Bytes(9, raw);
            Initializers.Add(t.ToArray());
            return name;
        }

        public string ConstInt64(string name, long[] values)
        {
            if (!_constants.Add(name)) return name;
            var t = new Message();
            t.Int64(1, values.Length);
            t.Int64(2, 7);  // INT64
            t.String(8, name);
            var raw = new byte[values.Length * 8];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
            t.Bytes(9, raw);
            Initializers.Add(t.ToArray());
            return name;
        }
    }
}
