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

    /// <summary>Largest IDX file read, plain or decompressed (MNIST's training images: 47 MB).</summary>
    const long MaxFileBytes = 1L << 30;

    /// <summary>
    /// Reads a whole IDX file, decompressing it when it starts with the gzip signature. Decompression
    /// stops at the length the IDX header implies (a file that would expand past it is refused before
    /// it does), and the gzip trailer's CRC-32 and length are checked.
    /// </summary>
    public static byte[] ReadAll(Stream stream, string name)
    {
        var compressed = ReadBounded(stream, name);
        if (compressed.Length < 2 || compressed[0] != 0x1F || compressed[1] != 0x8B) return compressed;
        if (compressed.Length < 18) throw new InvalidDataFileException($"{name}: the gzip data is truncated (no trailer).");
        uint crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 8));
        uint size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 4));
        try
        {
            using var gz = new GZipStream(new MemoryStream(compressed, writable: false), CompressionMode.Decompress);
            var header = new byte[16];
            int got = ReadUpTo(gz, header);
            // A header that is not IDX: its first bytes are enough for the parser to say what is wrong.
            if (ExpectedLength(header.AsSpan(0, got)) is not long expected) return header[..got];
            if (expected > MaxFileBytes)
                throw new InvalidDataFileException($"{name}: its IDX header promises {expected:N0} bytes, over the {MaxFileBytes / (1 << 20):N0} MB this reader takes.");
            if ((uint)expected != size && expected > got)
                throw new InvalidDataFileException($"{name}: its gzip trailer says {size:N0} bytes but its IDX header implies {expected:N0}; it is corrupted or not what it claims.");
            // Grown as data arrives (a header that lies about a short file allocates nothing more), never past expected.
            using var data = new MemoryStream((int)Math.Min(expected, 1 << 24));
            data.Write(header, 0, got);
            var buffer = new byte[81920];
            int read;
            while ((read = gz.Read(buffer)) > 0)
            {
                if (data.Length + read > expected)
                    throw new InvalidDataFileException($"{name}: the gzip data expands past the {expected:N0} bytes its IDX header implies; refused before decompressing the rest.");
                data.Write(buffer, 0, read);
            }
            var bytes = data.ToArray();
            if (bytes.Length == expected && Crc32(bytes) != crc)
                throw new InvalidDataFileException($"{name}: the gzip data is corrupted (its CRC-32 does not match).");
            return bytes;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataFileException($"{name}: the gzip data is corrupted or truncated ({e.Message}).", e);
        }
    }

    static byte[] ReadBounded(Stream stream, string name)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            if (ms.Length + read > MaxFileBytes) throw new InvalidDataFileException($"{name} is over {MaxFileBytes / 1_000_000:N0} MB, more than any IDX file of at most {MaxItems:N0} items.");
            ms.Write(buffer, 0, read);
        }
        return ms.ToArray();
    }

    static int ReadUpTo(Stream s, Span<byte> buffer)
    {
        int total = 0, read;
        while (total < buffer.Length && (read = s.Read(buffer[total..])) > 0) total += read;
        return total;
    }

    /// <summary>The whole file's length from its IDX header, or null when the header is not one.</summary>
    static long? ExpectedLength(ReadOnlySpan<byte> header)
    {
        if (header.Length < 8) return null;
        int magic = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header), count = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0 || count > MaxItems) return null;
        if (magic == LabelMagic) return 8L + count;
        if (magic != ImageMagic || header.Length < 16) return null;
        int rows = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[8..]), cols = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (rows <= 0 || cols <= 0 || rows > 1024 || cols > 1024) return null;
        return 16L + (long)count * rows * cols;
    }

    static uint Crc32(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);

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
