// The built-in models: there by name in the library, lenet5 first, and a name or a file path where a
// model is asked for.
using LeNet.Models;
using Xunit;

namespace LeNet.Tests.Models;

public sealed class PretrainedModelsTests
{
    [Fact]
    public void The_shipped_models_load_by_name_with_their_training_metadata()
    {
        // lenet5 and lenet5-1998 inside the library; cnn-bn, too large to embed, a file in models/ beside it.
        Assert.Equal([PretrainedModels.Default, Architectures.CnnBn, Architectures.LeNet5Classic], PretrainedModels.Names);
        Assert.Equal(Architectures.CnnBn, PretrainedModels.Load("cnn-bn").Spec.Name);
        Assert.DoesNotContain("models/cnn-bn.lenet", typeof(PretrainedModels).Assembly.GetManifestResourceNames());
        var lenet5 = PretrainedModels.Load("lenet5");
        Assert.Equal(Architectures.LeNet5, lenet5.Spec.Name);
        Assert.True((double)PretrainedModels.Read("lenet5").Metadata["testAccuracy"]! > 0.98);
        Assert.Equal(Architectures.LeNet5Classic, PretrainedModels.Load("LeNet5-1998").Spec.Name);
    }

    [Fact]
    public void Resolve_takes_a_file_first_then_a_built_in_name()
    {
        Assert.Equal(Architectures.LeNet5, PretrainedModels.Resolve(TestPaths.PretrainedModel).Spec.Name);
        Assert.Equal(Architectures.LeNet5Classic, PretrainedModels.Resolve("lenet5-1998").Spec.Name);
        var e = Assert.Throws<InvalidModelFileException>(() => PretrainedModels.Resolve("lenet6"));
        Assert.Contains("built-in models: lenet5, cnn-bn, lenet5-1998", e.Message);
    }
}
