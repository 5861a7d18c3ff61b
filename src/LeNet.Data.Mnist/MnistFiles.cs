namespace LeNet.Data.Mnist;

/// <summary>The four MNIST files held by this assembly (gzipped IDX, as published).</summary>
public static class MnistFiles
{
    /// <summary>The file of that name (e.g. "train-images-idx3-ubyte.gz"), or null.</summary>
    public static Stream? Open(string name) => typeof(MnistFiles).Assembly.GetManifestResourceStream("mnist/" + name);
}
