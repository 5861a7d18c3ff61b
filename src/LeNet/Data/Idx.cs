// Reader for the IDX format of MNIST (and Fashion-MNIST): a big-endian header with a magic number
// (0x00000801 labels, 0x00000803 images), dimensions, then unsigned bytes. Plain or gzipped.
// Every header field and the length are checked, and errors name the file and what is wrong.
using System.IO.Compression;

namespace LeNet.Data;

public static class Idx
{
    public const int LabelMagic = 2049;   // 0x00000801: unsigned byte, 1 dimension
    public const int ImageMagic = 2051;   // 0x00000803: unsigned byte, 3 dimensions
    const int MaxItems = 10_000_000;

    /// <summary>Reads an IDX3 image file: count × rows × cols bytes.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path) => ParseImages(ReadAll(path), Path.GetFileName(path));

    /// <summary>Parses the bytes of an IDX3 image file; <paramref name="name"/> is used in errors.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ParseImages(byte[] data, string name)
    {
        int magic = data.Length >= 4 ? BigEndian(data, 0) : ImageMagic;
        if (magic != ImageMagic)
            throw new InvalidDataFileException(magic == LabelMagic
                ? $"{name} is an IDX label file (magic 2049), but an image file (magic 2051) was expected."
                : $"{name} is not an IDX image file: magic number {magic} (0x{magic:X8}), expected 2051 (0x00000803).");
        RequireHeader(data, 16, name, "image");
        int count = BigEndian(data, 4), rows = BigEndian(data, 8), cols = BigEndian(data, 12);
        if (count < 0 || count > MaxItems) throw new InvalidDataFileException($"{name}: implausible image count {count}.");
        if (rows <= 0 || cols <= 0 || rows > 1024 || cols > 1024)
            throw new InvalidDataFileException($"{name}: implausible image size {rows}x{cols}.");
        long expected = 16 + (long)count * rows * cols;
        CheckLength(data, expected, name, $"{count} images of {rows}x{cols}");
        return (data[16..(int)expected], count, rows, cols);
    }

    /// <summary>Reads an IDX1 label file: count bytes.</summary>
    public static byte[] ReadLabels(string path) => ParseLabels(ReadAll(path), Path.GetFileName(path));

    /// <summary>Parses the bytes of an IDX1 label file; <paramref name="name"/> is used in errors.</summary>
    public static byte[] ParseLabels(byte[] data, string name)
    {
        int magic = data.Length >= 4 ? BigEndian(data, 0) : LabelMagic;
        if (magic != LabelMagic)
            throw new InvalidDataFileException(magic == ImageMagic
                ? $"{name} is an IDX image file (magic 2051), but a label file (magic 2049) was expected."
                : $"{name} is not an IDX label file: magic number {magic} (0x{magic:X8}), expected 2049 (0x00000801).");
        RequireHeader(data, 8, name, "label");
        int count = BigEndian(data, 4);
        if (count < 0 || count > MaxItems) throw new InvalidDataFileException($"{name}: implausible label count {count}.");
        CheckLength(data, 8 + (long)count, name, $"{count} labels");
        return data[8..(8 + count)];
    }

    /// <summary>Writes an IDX image or label file (uncompressed, or gzipped when the name ends in .gz).</summary>
    public static void Write(string path, byte[] payload, params int[] dimensions)
    {
        using var file = File.Create(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Optimal) : file;
        Span<byte> word = stackalloc byte[4];
        int magic = dimensions.Length == 1 ? LabelMagic : 0x800 | dimensions.Length;
        foreach (int v in new[] { magic }.Concat(dimensions))
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(word, v);
            s.Write(word);
        }
        s.Write(payload);
    }

    static byte[] ReadAll(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataFileException($"Data file not found: {path}");
        try
        {
            using var file = File.OpenRead(path);
            return ReadAll(file, Path.GetFileName(path));
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new InvalidDataFileException($"{Path.GetFileName(path)}: cannot read ({e.Message}).", e);
        }
    }

    /// <summary>Reads a whole stream, decompressing when it starts with the gzip signature.</summary>
    public static byte[] ReadAll(Stream stream, string name)
    {
        var buffered = new BufferedStream(stream);
        int b0 = buffered.ReadByte(), b1 = buffered.ReadByte();
        using var ms = new MemoryStream();
        if (b0 >= 0) ms.WriteByte((byte)b0);
        if (b1 >= 0) ms.WriteByte((byte)b1);
        if (b0 == 0x1F && b1 == 0x8B)
        {
            ms.SetLength(0);
            var rest = new MemoryStream();
            rest.Write([0x1F, 0x8B]);
            buffered.CopyTo(rest);
            rest.Position = 0;
            try
            {
                using var gz = new GZipStream(rest, CompressionMode.Decompress);
                gz.CopyTo(ms);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataFileException($"{name}: the gzip data is corrupted or truncated ({e.Message}).", e);
            }
        }
        else buffered.CopyTo(ms);
        return ms.ToArray();
    }

    static void RequireHeader(byte[] data, int size, string name, string kind)
    {
        if (data.Length < size)
            throw new InvalidDataFileException($"{name} is too short to be an IDX {kind} file: {data.Length} bytes, the header alone is {size}.");
    }

    static void CheckLength(byte[] data, long expected, string name, string what)
    {
        if (data.Length < expected)
            throw new InvalidDataFileException($"{name} is truncated: its header promises {what} ({expected:N0} bytes) but it holds {data.Length:N0} bytes.");
        if (data.Length > expected)
            throw new InvalidDataFileException($"{name} has {data.Length - expected:N0} unexpected bytes after {what}; it may be corrupted.");
    }

    static int BigEndian(byte[] d, int at) => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(d.AsSpan(at, 4));
}
