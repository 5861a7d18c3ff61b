// A committee: several trained networks that read the same digit, their probabilities averaged
// (Ciresan et al. 2012 reach their best MNIST errors this way). It is a Network like any other (one
// layer, CommitteeLayer), so evaluation, prediction, the web app, model files and ONNX export take
// it as they take a single model. Its architecture name lists the members,
// e.g. "committee:lenet5,lenet5-1998,cnn-wide"; its parameters are the members' one after another.
using System.Buffers;
using LeNet.Layers;

namespace LeNet.Models;

public static class Committee
{
    public const string Prefix = "committee:";
    public const int MaxMembers = 16;

    /// <summary>A committee of copies of the given networks (each keeps its architecture and weights).</summary>
    public static Network Join(IReadOnlyList<Network> members)
    {
        if (members.Count < 2) throw new LeNetException($"A committee needs at least 2 models (got {members.Count}).");
        if (members.Count > MaxMembers) throw new LeNetException($"A committee takes at most {MaxMembers} models (got {members.Count}).");
        foreach (var m in members)
            if (IsCommittee(m.Spec)) throw new LeNetException("A committee's members are single models, not committees: join their members instead.");
        var network = Build(members.Select(m => m.Spec).ToList());
        int offset = 0;
        foreach (var m in members)
        {
            m.Parameters.CopyTo(network.Parameters, offset);
            offset += m.Parameters.Length;
        }
        network.ParametersChanged();
        return network;
    }

    public static bool IsCommittee(ArchitectureSpec spec) => spec.Name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The member specs a committee's name lists ("lenet5", or "lenet5/tanh/average" for a variant).</summary>
    public static IReadOnlyList<ArchitectureSpec> Members(ArchitectureSpec spec)
    {
        var names = spec.Name[Prefix.Length..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length < 2 || names.Length > MaxMembers) throw new LeNetException($"'{spec.Name}' does not name 2 to {MaxMembers} members.");
        return names.Select(ParseMember).ToList();
    }

    internal static Network Build(ArchitectureSpec spec) => Build(Members(spec));

    static Network Build(IReadOnlyList<ArchitectureSpec> members)
    {
        var nets = members.Select(Architectures.Build).ToList();
        var spec = new ArchitectureSpec(Prefix + string.Join(",", nets.Select(n => MemberName(n.Spec))));
        // Raw pixel values in (0–255): each member encodes them its own way.
        return new Network(spec, new InputEncoding(0, 0, 255), [new CommitteeLayer(nets)], new SoftmaxCrossEntropy());
    }

    // Only lenet5 comes in variants (activation, pooling); the other architectures are fixed.
    static string MemberName(ArchitectureSpec s)
    {
        var d = Architectures.Default(s.Name);
        return s.Name != Architectures.LeNet5 || (s.Activation == d.Activation && s.Pooling == d.Pooling) ? s.Name
            : $"{s.Name}/{s.Activation.ToString().ToLowerInvariant()}/{(s.Pooling == PoolingKind.Max ? "max" : "average")}";
    }

    static ArchitectureSpec ParseMember(string text)
    {
        var parts = text.Split('/');
        var spec = Architectures.Default(parts[0]);
        if (parts.Length == 1) return spec;
        if (parts[0] != Architectures.LeNet5) throw new LeNetException($"'{text}': only lenet5 comes in variants.");
        if (parts.Length != 3 || !Enum.TryParse<Activation>(parts[1], ignoreCase: true, out var activation) || parts[2] is not ("max" or "average"))
            throw new LeNetException($"'{text}' is not a committee member (architecture, or architecture/activation/pooling).");
        return spec with { Activation = activation, Pooling = parts[2] == "max" ? PoolingKind.Max : PoolingKind.Average };
    }
}

/// <summary>
/// The one layer of a committee: every member reads the (raw, 0–255) input; the output is the log of
/// the members' mean probabilities, so that the network's softmax gives that mean back. Not trained.
/// </summary>
public sealed class CommitteeLayer : Layer
{
    readonly Network[] _members;

    public CommitteeLayer(IReadOnlyList<Network> members)
        : base("committee", new Shape(1, 28, 28), new Shape(Loss.Classes, 1, 1), Activation.None)
    {
        _members = [.. members];
    }

    public IReadOnlyList<Network> Members => _members;
    public override string Kind => "Committee";
    public override int ParameterCount => _members.Sum(m => m.Parameters.Length);
    public override long Connections => _members.Sum(m => m.Layers.Sum(l => l.Connections));
    public override string Details => string.Join(" + ", _members.Select(m => m.Spec.Name));
    public override int ScratchLength(int n) => n * Loss.Classes;

    public override void InitializeParameters(Span<float> p, Rng rng)
    {
        int offset = 0;
        foreach (var m in _members)
        {
            m.Initialize(rng.NextUInt64());
            m.Parameters.CopyTo(p.Slice(offset));
            offset += m.Parameters.Length;
        }
    }

    /// <summary>The members take their weights from the committee's parameters.</summary>
    public override void ParametersChanged(ReadOnlySpan<float> p)
    {
        int offset = 0;
        foreach (var m in _members)
        {
            p.Slice(offset, m.Parameters.Length).CopyTo(m.Parameters);
            m.ParametersChanged();
            offset += m.Parameters.Length;
        }
    }

    public override string? ParameterProblem(ReadOnlySpan<float> p)
    {
        int offset = 0;
        foreach (var m in _members)
        {
            foreach (var l in m.Layers)
                if (l.ParameterProblem(p.Slice(offset + l.ParameterOffset, l.ParameterCount)) is { } problem) return $"member {m.Spec.Name}: layer {l.Name} {problem}";
            offset += m.Parameters.Length;
        }
        return null;
    }

    public override void Forward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, int n, Span<float> scratch)
    {
        const int k = Loss.Classes;
        var bytes = ArrayPool<byte>.Shared.Rent(n * 784);
        try
        {
            for (int i = 0; i < n * 784; i++) bytes[i] = (byte)Math.Clamp((int)MathF.Round(x[i]), 0, 255);
            var mean = y[..(n * k)];
            mean.Clear();
            var probabilities = scratch[..(n * k)];
            foreach (var m in _members)
            {
                // The caller already shares the images between the cores.
                m.Predict(bytes.AsSpan(0, n * 784), n, probabilities, threads: 1);
                System.Numerics.Tensors.TensorPrimitives.Add(mean, probabilities, mean);
            }
            float share = 1f / _members.Length;
            for (int i = 0; i < n * k; i++) mean[i] = MathF.Log(Math.Max(mean[i] * share, 1e-30f));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    public override void Backward(ReadOnlySpan<float> p, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dp, int n, Span<float> scratch) =>
        throw new NotSupportedException("A committee is not trained: train its members, then join them with `lenet ensemble`.");
}
