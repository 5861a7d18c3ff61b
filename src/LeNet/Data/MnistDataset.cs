// MNIST-format data sets in memory: 28x28 images as bytes (0 = background, 255 = ink) and labels.
// Loads from a folder of the four standard IDX files or from the copy embedded in this library.
using System.Reflection;

namespace LeNet.Data;

public sealed class MnistDataset
{
    public const int Side = 28;
    public const int Pixels = Side * Side;

    public MnistDataset(byte[] images, byte[] labels, string source)
    {
        if (images.Length != labels.Length * Pixels)
            throw new InvalidDataFileException($"{source}: {images.Length / Pixels} images but {labels.Length} labels.");
        foreach (var l in labels)
            if (l > 9) throw new InvalidDataFileException($"{source}: label {l} is not a digit 0–9.");
        Images = images;
        Labels = labels;
        Source = source;
    }

    public byte[] Images { get; }
    public byte[] Labels { get; }
    public string Source { get; }
    public int Count => Labels.Length;
    public ReadOnlySpan<byte> Image(int i) => Images.AsSpan(i * Pixels, Pixels);

    /// <summary>The first <paramref name="count"/> items (all if count ≤ 0 or larger).</summary>
    public MnistDataset Take(int count) => count <= 0 || count >= Count
        ? this
        : new MnistDataset(Images[..(count * Pixels)], Labels[..count], Source);

    /// <summary>The items from <paramref name="start"/> on (the ones a run trained with a limit did not see).</summary>
    public MnistDataset Skip(int start) => start <= 0 ? this
        : new MnistDataset(Images[(Math.Min(start, Count) * Pixels)..], Labels[Math.Min(start, Count)..], Source);

    static readonly string[] TrainNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"];
    static readonly string[] TestNames = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Loads the training or test split from a folder of IDX files (each plain or .gz).</summary>
    public static MnistDataset Load(string directory, bool train)
    {
        if (!Directory.Exists(directory)) throw new InvalidDataFileException($"Data folder not found: {directory}");
        var names = train ? TrainNames : TestNames;
        string imagesPath = Find(directory, names[0]), labelsPath = Find(directory, names[1]);
        return Create(Idx.ReadImages(imagesPath), Path.GetFileName(imagesPath), Idx.ReadLabels(labelsPath), Path.GetFileName(labelsPath), directory);
    }

    static MnistDataset Create((byte[] Pixels, int Count, int Rows, int Cols) images, string imagesName, byte[] labels, string labelsName, string source)
    {
        if (images.Rows != Side || images.Cols != Side)
            throw new InvalidDataFileException($"{imagesName} holds {images.Rows}x{images.Cols} images; LeNet reads 28x28.");
        if (labels.Length != images.Count)
            throw new InvalidDataFileException($"{imagesName} holds {images.Count:N0} images but {labelsName} holds {labels.Length:N0} labels.");
        return new MnistDataset(images.Pixels, labels, source);
    }

    static string Find(string directory, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name, name.Replace("-idx", ".idx") + ".gz", name.Replace("-idx", ".idx") })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new InvalidDataFileException($"{directory} has no {name}(.gz): expected the four MNIST IDX files there.");
    }

    /// <summary>
    /// The MNIST training or test split built into LeNet.NET (the original files, gzipped), from the
    /// LeNet.Data.Mnist package: an app that uses it references that package; one that only predicts
    /// does not need to.
    /// </summary>
    public static MnistDataset LoadEmbedded(bool train)
    {
        var names = train ? TrainNames : TestNames;
        System.Reflection.Assembly asm;
        try { asm = System.Reflection.Assembly.Load(new System.Reflection.AssemblyName("LeNet.Data.Mnist")); }
        catch (IOException)
        {
            throw new InvalidDataFileException("The built-in MNIST data is in the LeNet.Data.Mnist package, which this app does not reference: " +
                "add it (dotnet add package LeNet.Data.Mnist), or load MNIST from a folder with MnistDataset.Load(directory, train).");
        }
        byte[] Read(string n)
        {
            using var s = asm.GetManifestResourceStream("mnist/" + n + ".gz")
                ?? throw new InvalidDataFileException($"The built-in MNIST file {n}.gz is missing from LeNet.Data.Mnist.");
            return Idx.ReadAll(s, n);
        }
        return Create(Idx.ParseImages(Read(names[0]), names[0]), names[0], Idx.ParseLabels(Read(names[1]), names[1]), names[1], "embedded MNIST");
    }

    /// <summary>Loads from <paramref name="directory"/> when given, else the embedded MNIST.</summary>
    public static MnistDataset LoadOrEmbedded(string? directory, bool train) =>
        directory is null ? LoadEmbedded(train) : Load(directory, train);
}
