using System.IO.Compression;
using LeNet.Data;
using Xunit;

namespace LeNet.Tests.Data;

public class IdxReaderTests
{
    static readonly string Dir = TestPaths.NewTempDirectory();

    static string WriteFile(string name, byte[] bytes, bool gzip = false)
    {
        var path = Path.Combine(Dir, name);
        if (gzip)
        {
            using var f = File.Create(path);
            using var gz = new GZipStream(f, CompressionLevel.Fastest);
            gz.Write(bytes);
        }
        else File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] Header(params int[] words) => words.SelectMany(w => new[] { (byte)(w >> 24), (byte)(w >> 16), (byte)(w >> 8), (byte)w }).ToArray();

    static byte[] ImageFile(int count, int rows = 28, int cols = 28) =>
        [.. Header(2051, count, rows, cols), .. Enumerable.Range(0, count * rows * cols).Select(i => (byte)(i % 251))];

    static byte[] Gzip(byte[] bytes)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(bytes);
        return ms.ToArray();
    }

    [Fact]
    public void A_gzip_bomb_is_refused_before_it_expands()
    {
        // A label file whose header says 100 labels, followed by 200 MB of zeros (a few hundred KB gzipped):
        // reading stops at the 108 bytes the header implies. The trailer is made to agree with the header.
        var path = Path.Combine(Dir, "bomb-labels.gz");
        using (var f = File.Create(path))
        {
            using (var gz = new GZipStream(f, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                gz.Write(Header(2049, 100));
                var zeros = new byte[1 << 20];
                for (int i = 0; i < 200; i++) gz.Write(zeros);
            }
            f.Seek(-4, SeekOrigin.End);
            f.Write(BitConverter.GetBytes(108));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataFileException>(() => Idx.ReadLabels(path));
        Assert.Contains("expands past the 108 bytes", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "read far past the header's length");
    }

    [Fact]
    public void Gzip_trailers_are_checked()
    {
        var good = Gzip([.. Header(2049, 3), 1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, Idx.ReadLabels(WriteFile("labels-good.gz", good)));
        Assert.Matches("truncated|corrupted", Assert.Throws<InvalidDataFileException>(() => Idx.ReadLabels(WriteFile("labels-cut.gz", good[..^5]))).Message);
        Assert.Matches("trailer|corrupted", Assert.Throws<InvalidDataFileException>(() => Idx.ReadLabels(WriteFile("labels-garbage.gz", [.. good, 9, 9, 9, 9, 9, 9, 9, 9, 9]))).Message);
        var badCrc = (byte[])good.Clone();
        badCrc[^8] ^= 0x55;
        Assert.Contains("corrupted", Assert.Throws<InvalidDataFileException>(() => Idx.ReadLabels(WriteFile("labels-crc.gz", badCrc))).Message);
    }

    [Fact]
    public void Idx_reader_reads_raw_and_gzipped_files_alike()
    {
        var raw = Idx.ReadImages(WriteFile("raw-images", ImageFile(3)));
        var gz = Idx.ReadImages(WriteFile("gz-images.gz", ImageFile(3), gzip: true));
        Assert.Equal((3, 28, 28), (raw.Count, raw.Rows, raw.Cols));
        Assert.Equal(raw.Pixels, gz.Pixels);
        Assert.Equal(3 * 784, raw.Pixels.Length);
        Assert.Equal(new byte[] { 1, 2, 3 }, Idx.ReadLabels(WriteFile("labels", [.. Header(2049, 3), 1, 2, 3])));
    }

    [Fact]
    public void Idx_reader_rejects_truncated_image_file()
    {
        var bytes = ImageFile(5)[..^100];
        var e = Assert.Throws<InvalidDataFileException>(() => Idx.ReadImages(WriteFile("truncated-images", bytes)));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("truncated-images", e.Message);
        Assert.Contains("5 images", e.Message);
    }

    [Fact]
    public void Idx_reader_rejects_truncated_gzip_stream()
    {
        var path = WriteFile("cut.gz", ImageFile(50), gzip: true);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataFileException>(() => Idx.ReadImages(path));
        Assert.Contains("cut.gz", e.Message);
    }

    [Fact]
    public void Idx_reader_rejects_a_file_shorter_than_its_header() =>
        Assert.Contains("too short", Assert.Throws<InvalidDataFileException>(() => Idx.ReadImages(WriteFile("tiny", [0, 0, 8]))).Message);

    [Fact]
    public void Idx_reader_rejects_wrong_magic_and_says_which_kind_it_is()
    {
        var labels = WriteFile("labels-as-images", [.. Header(2049, 2), 1, 2]);
        Assert.Contains("label file", Assert.Throws<InvalidDataFileException>(() => Idx.ReadImages(labels)).Message);
        var images = WriteFile("images-as-labels", ImageFile(1));
        Assert.Contains("image file", Assert.Throws<InvalidDataFileException>(() => Idx.ReadLabels(images)).Message);
        var text = WriteFile("text", "hello, this is not IDX data"u8.ToArray());
        Assert.Contains("magic number", Assert.Throws<InvalidDataFileException>(() => Idx.ReadImages(text)).Message);
    }

    [Fact]
    public void Idx_reader_rejects_trailing_bytes() =>
        Assert.Contains("unexpected bytes", Assert.Throws<InvalidDataFileException>(() =>
            Idx.ReadLabels(WriteFile("long-labels", [.. Header(2049, 2), 1, 2, 3]))).Message);

    [Fact]
    public void Dataset_rejects_images_and_labels_of_different_counts()
    {
        var dir = Path.Combine(Dir, "mismatch");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), ImageFile(4));
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), [.. Header(2049, 3), 1, 2, 3]);
        var e = Assert.Throws<InvalidDataFileException>(() => MnistDataset.Load(dir, train: false));
        Assert.Contains("4 images", e.Message);
        Assert.Contains("3 labels", e.Message);
    }

    [Fact]
    public void Dataset_rejects_images_that_are_not_28x28()
    {
        var dir = Path.Combine(Dir, "size");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), ImageFile(1, 32, 32));
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), [.. Header(2049, 1), 1]);
        Assert.Contains("32x32", Assert.Throws<InvalidDataFileException>(() => MnistDataset.Load(dir, train: false)).Message);
    }

    [Fact]
    public void Dataset_names_the_missing_file() =>
        Assert.Contains("train-images-idx3-ubyte", Assert.Throws<InvalidDataFileException>(() => MnistDataset.Load(Dir, train: true)).Message);

    [Fact]
    public void Embedded_mnist_is_the_full_standard_set()
    {
        var test = MnistDataset.LoadEmbedded(train: false);
        Assert.Equal(10_000, test.Count);
        var train = MnistDataset.LoadEmbedded(train: true);
        Assert.Equal(60_000, train.Count);
        Assert.Equal(new byte[] { 5, 0, 4, 1, 9, 2, 1, 3, 1, 4 }, train.Labels[..10]);
    }

    [Fact]
    public void Small_test_set_matches_the_first_items_of_mnist()
    {
        var small = MnistDataset.Load(TestPaths.SmallMnist, train: true);
        Assert.Equal(3000, small.Count);
        Assert.Equal(new byte[] { 5, 0, 4, 1, 9, 2, 1, 3, 1, 4 }, small.Labels[..10]);
    }
}
