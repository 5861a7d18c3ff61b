namespace LeNet.Tests;

/// <summary>Where the committed test data lives.</summary>
public static class TestPaths
{
    public static string Data => Path.Combine(AppContext.BaseDirectory, "Data");
    /// <summary>3,000 training and 500 test images from MNIST, as gzipped IDX files.</summary>
    public static string SmallMnist => Path.Combine(Data, "mnist-small");
    public static string PretrainedModel => Path.Combine(AppContext.BaseDirectory, "models", "lenet5.lenet");

    public static string NewTempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lenet-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
