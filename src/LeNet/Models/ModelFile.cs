// The model file: versioned binary, little-endian.
//   magic "LENET\r\n\x1a" (8 bytes; the CR/LF/EOF bytes expose text-mode mangling, as in PNG)
//   u32 format version | u32 kind (0 model, 1 checkpoint) | u32 header length | header (UTF-8 JSON:
//   architecture and metadata) | u32 section count | per section: u32 name length, name (UTF-8),
//   u32 float count, floats | SHA-256 of everything before it (32 bytes).
// Written to a temporary file in the same folder, flushed, then renamed over the target.
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeNet.Layers;

namespace LeNet.Models;

public enum ModelFileKind { Model = 0, Checkpoint = 1 }

/// <summary>Everything a model file holds.</summary>
public sealed class ModelFileContents
{
    public required ModelFileKind Kind { get; init; }
    public required ArchitectureSpec Architecture { get; init; }
    /// <summary>Free-form metadata (training options, results, checkpoint state).</summary>
    public JsonObject Metadata { get; init; } = new();
    /// <summary>Named float arrays; "parameters" always present.</summary>
    public Dictionary<string, float[]> Sections { get; init; } = new();
}

public static class ModelFile
{
    public const int FormatVersion = 1;
    public const string Extension = ".lenet";
    static readonly byte[] Magic = "LENET\r\n\x1a"u8.ToArray();
    const int MaxSections = 64;
    const int MaxFloats = 64 << 20; // 256 MB of floats: far beyond any model here

    public static void Save(string path, Network network, JsonObject? metadata = null) =>
        AtomicFile.Write(path, ToBytes(network, metadata));

    /// <summary>Loads a model (or the model inside a checkpoint) and rebuilds its network.</summary>
    public static Network Load(string path)
    {
        var contents = Read(path);
        return ToNetwork(contents, Path.GetFileName(path));
    }

    public static Network ToNetwork(ModelFileContents contents, string name)
    {
        var network = Architectures.Build(contents.Architecture);
        var p = contents.Sections.GetValueOrDefault("parameters")
            ?? throw new InvalidModelFileException($"{name} has no parameters section.");
        if (p.Length != network.Parameters.Length)
            throw new InvalidModelFileException($"{name} holds {p.Length:N0} parameters but {contents.Architecture.Name} has {network.Parameters.Length:N0}.");
        foreach (var v in p)
            if (!float.IsFinite(v)) throw new InvalidModelFileException($"{name} contains parameters that are not finite numbers.");
        foreach (var l in network.Layers)
            if (l.ParameterProblem(p.AsSpan(l.ParameterOffset, l.ParameterCount)) is { } problem)
                throw new InvalidModelFileException($"{name} is corrupted: layer {l.Name} {problem}.");
        p.CopyTo(network.Parameters, 0);
        network.ParametersChanged();
        network.Calibration = Calibration.FromMetadata(contents.Metadata) ?? Calibration.None;
        return network;
    }

    public static void Write(string path, ModelFileContents contents)
    {
        var (body, hash) = Encode(contents);
        AtomicFile.Write(path, body, hash);
    }

    /// <summary>A model as the bytes of a .lenet file (what <see cref="Save"/> writes).</summary>
    public static byte[] ToBytes(Network network, JsonObject? metadata = null)
    {
        var (body, hash) = Encode(new ModelFileContents
        {
            Kind = ModelFileKind.Model,
            Architecture = network.Spec,
            Metadata = metadata ?? new JsonObject(),
            Sections = new() { ["parameters"] = network.Parameters },
        });
        return [.. body, .. hash];
    }

    static (byte[] Body, byte[] Hash) Encode(ModelFileContents contents)
    {
        var header = new JsonObject
        {
            ["architecture"] = new JsonObject
            {
                ["name"] = contents.Architecture.Name,
                ["activation"] = contents.Architecture.Activation.ToString().ToLowerInvariant(),
                ["pooling"] = contents.Architecture.Pooling == PoolingKind.Max ? "max" : "average",
            },
            ["metadata"] = contents.Metadata.DeepClone(),
        };
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var ms = new MemoryStream();
        ms.Write(Magic);
        WriteU32(ms, FormatVersion);
        WriteU32(ms, (uint)contents.Kind);
        WriteU32(ms, (uint)headerBytes.Length);
        ms.Write(headerBytes);
        WriteU32(ms, (uint)contents.Sections.Count);
        foreach (var (name, values) in contents.Sections)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            WriteU32(ms, (uint)nameBytes.Length);
            ms.Write(nameBytes);
            WriteU32(ms, (uint)values.Length);
            var bytes = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
            ms.Write(bytes);
        }
        var body = ms.ToArray();
        return (body, SHA256.HashData(body));
    }

    public static ModelFileContents Read(string path)
    {
        string name = Path.GetFileName(path);
        if (!File.Exists(path)) throw new InvalidModelFileException($"Model file not found: {path}");
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (IOException e) { throw new InvalidModelFileException($"{name}: cannot read ({e.Message}).", e); }
        catch (UnauthorizedAccessException e) { throw new InvalidModelFileException($"{name}: cannot read ({e.Message}).", e); }
        return Parse(data, name);
    }

    public static ModelFileContents Parse(byte[] data, string name)
    {
        if (data.Length < Magic.Length || !data.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            if (data.Length >= 1 && data.AsSpan(0, Math.Min(data.Length, Magic.Length)).SequenceEqual(Magic.AsSpan(0, Math.Min(data.Length, Magic.Length))))
                throw new InvalidModelFileException($"{name} is truncated: it ends inside the file signature.");
            throw new InvalidModelFileException($"{name} is not a LeNet model file (it does not start with the LENET signature).");
        }
        var r = new Reader(data, name);
        r.Skip(Magic.Length);
        uint version = r.U32("format version");
        if (version != FormatVersion)
            throw new InvalidModelFileException($"{name} is model format version {version}; this version of LeNet reads version {FormatVersion}.");
        uint kind = r.U32("kind");
        if (kind > 1) throw new InvalidModelFileException($"{name} is corrupted: unknown file kind {kind}.");
        int headerLength = r.Length("header length", data.Length);
        var headerText = r.Bytes(headerLength, "header");
        uint sectionCount = r.U32("section count");
        if (sectionCount > MaxSections) throw new InvalidModelFileException($"{name} is corrupted: {sectionCount} sections.");
        var sections = new Dictionary<string, float[]>();
        for (int s = 0; s < sectionCount; s++)
        {
            int nameLength = r.Length("section name length", 256);
            string sectionName = Encoding.UTF8.GetString(r.Bytes(nameLength, "section name"));
            int count = r.Length("section size", MaxFloats);
            var bytes = r.Bytes(checked(count * 4), $"section '{sectionName}'");
            var values = new float[count];
            for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
            sections[sectionName] = values;
        }
        int bodyLength = r.Position;
        var checksum = r.Bytes(32, "checksum");
        if (r.Position != data.Length)
            throw new InvalidModelFileException($"{name} has {data.Length - r.Position:N0} unexpected bytes after its checksum; it is corrupted.");
        if (!SHA256.HashData(data.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(checksum))
            throw new InvalidModelFileException($"{name} is corrupted: its checksum does not match its contents.");

        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerText)?.AsObject() ?? throw new JsonException("empty header");
            // JsonObject finds duplicate keys, and strings their invalid UTF-8, only when first read: read everything now.
            Touch(header);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidModelFileException($"{name} is corrupted: unreadable header ({e.Message}).", e);
        }
        return new ModelFileContents
        {
            Kind = (ModelFileKind)kind,
            Architecture = ParseArchitecture(header["architecture"], name),
            Metadata = header["metadata"] switch
            {
                null => new JsonObject(),
                JsonObject m => m,
                _ => throw new InvalidModelFileException($"{name} is corrupted: its header's \"metadata\" is not an object."),
            },
            Sections = sections,
        };
    }

    static void Touch(JsonNode? node)
    {
        if (node is JsonObject o) foreach (var (_, value) in o) Touch(value);
        else if (node is JsonArray a) foreach (var value in a) Touch(value);
        else if (node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String) _ = v.GetValue<string>();   // invalid UTF-8 shows here
    }

    /// <summary>A header field that must be a string when present (null when absent).</summary>
    static string? Text(JsonObject o, string field, string name) => o[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? text) => text,
        var other => throw new InvalidModelFileException($"{name} is corrupted: the architecture's \"{field}\" is {other.GetValueKind().ToString().ToLowerInvariant()}, not a string."),
    };

    static ArchitectureSpec ParseArchitecture(JsonNode? node, string name)
    {
        if (node is not JsonObject a) throw new InvalidModelFileException($"{name} does not name its architecture.");
        string arch = Text(a, "name", name) ?? throw new InvalidModelFileException($"{name} does not name its architecture.");
        if (Committee.IsCommittee(new ArchitectureSpec(arch)))
        {
            try { Committee.Members(new ArchitectureSpec(arch)); }
            catch (LeNetException e) { throw new InvalidModelFileException($"{name} is a committee whose members are not models this version of LeNet knows: {e.Message}"); }
            return new ArchitectureSpec(arch);
        }
        if (!Architectures.Names.Contains(arch))
            throw new InvalidModelFileException($"{name} is a '{arch}' model, which this version of LeNet does not know.");
        var activation = Text(a, "activation", name) switch
        {
            null or "relu" => Activation.Relu,
            "tanh" => Activation.Tanh,
            "sigmoid" => Activation.Sigmoid,
            "scaledtanh" => Activation.ScaledTanh,
            var other => throw new InvalidModelFileException($"{name} uses an unknown activation '{other}'."),
        };
        var pooling = Text(a, "pooling", name) switch
        {
            null or "max" => PoolingKind.Max,
            "average" => PoolingKind.Average,
            var other => throw new InvalidModelFileException($"{name} uses an unknown pooling '{other}'."),
        };
        return new ArchitectureSpec(arch, activation, pooling);
    }

    static void WriteU32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    /// <summary>Bounds-checked reading that reports a short file as truncated.</summary>
    sealed class Reader(byte[] data, string name)
    {
        public int Position { get; private set; }
        public void Skip(int n) => Position += n;

        public uint U32(string what)
        {
            Need(4, what);
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(Position));
            Position += 4;
            return v;
        }

        public int Length(string what, int max)
        {
            uint v = U32(what);
            if (v > max) throw new InvalidModelFileException($"{name} is corrupted: {what} {v} is impossible.");
            return (int)v;
        }

        public byte[] Bytes(int n, string what)
        {
            Need(n, what);
            var b = data.AsSpan(Position, n).ToArray();
            Position += n;
            return b;
        }

        void Need(int n, string what)
        {
            if ((long)Position + n > data.Length)
                throw new InvalidModelFileException($"{name} is truncated: it ends in its {what} ({data.Length:N0} bytes).");
        }
    }
}

/// <summary>Writes files so a crash never leaves a half-written one: temp file in the same folder, flush, rename.</summary>
public static class AtomicFile
{
    /// <summary>Deletes temp files of this name left by a writer that was killed (its process is gone).</summary>
    static void RemoveStale(string dir, string name)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
            {
                var parts = Path.GetFileName(file)[(name.Length + 2)..].Split('.');
                if (parts.Length != 3 || !int.TryParse(parts[0], out int pid) || pid == Environment.ProcessId || IsRunning(pid)) continue;
                File.Delete(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // best effort
    }

    static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    public static void Write(string path, params byte[][] parts)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new LeNetException($"Folder does not exist: {dir}");
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        RemoveStale(dir, Path.GetFileName(full));
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                foreach (var part in parts) f.Write(part);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new LeNetException($"Cannot write {path}: {e.Message}", e);
        }
    }
}
