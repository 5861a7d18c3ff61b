// The ONNX export, run in ONNX Runtime: the same outputs as our engine on 1,000 test images, for
// every architecture (and the lenet5 variants, and a committee).
using LeNet.Layers;
using LeNet.Data;
using LeNet.Interop;
using LeNet.Kernels;
using LeNet.Models;
using LeNet.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace LeNet.Tests.Interop;

public sealed class OnnxExportTests
{
    static readonly MnistDataset Test = MnistDataset.LoadEmbedded(train: false);
    const int Count = 1000;

    public static TheoryData<string> Models => ["lenet5 (shipped)", "lenet5-1998 (shipped)", "lenet5-1998", "cnn-wide", "cnn-deep", "cnn-bn", "lenet5 tanh average", "lenet5 sigmoid max", "committee"];

    static Network Build(string name) => name switch
    {
        "lenet5 (shipped)" => ModelFile.Load(TestPaths.PretrainedModel),
        "lenet5-1998 (shipped)" => ModelFile.Load(Path.Combine(AppContext.BaseDirectory, "models", "lenet5-1998.lenet")),
        "lenet5 tanh average" => Random(Architectures.Default(Architectures.LeNet5) with { Activation = Activation.Tanh, Pooling = PoolingKind.Average }),
        "lenet5 sigmoid max" => Random(Architectures.Default(Architectures.LeNet5) with { Activation = Activation.Sigmoid }),
        "cnn-bn" => LeNet.Tests.Models.BatchNormNetworkTests.WithStatistics(),
        "committee" => Committee.Join([Build("lenet5 (shipped)"), Build("lenet5-1998 (shipped)"), Build("lenet5 tanh average")]),
        _ => Random(Architectures.Default(name)),
    };

    static Network Random(ArchitectureSpec spec)
    {
        var n = Architectures.Build(spec);
        n.Initialize(11);
        return n;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Onnx_runtime_gives_our_outputs_on_1000_test_images(string name)
    {
        var network = Build(name);
        string path = Path.Combine(TestPaths.NewTempDirectory(), "model.onnx");
        OnnxExport.Save(network, path);

        var expectedProbabilities = new float[Count * 10];
        var expectedScores = new float[Count * 10];
        network.Predict(Test.Images, Count, expectedProbabilities, threads: 2, rawOutputs: expectedScores);

        using var session = new InferenceSession(path);
        Assert.Equal(["image"], session.InputMetadata.Keys);
        Assert.Equal(["scores", "probabilities"], session.OutputMetadata.Keys);
        // The file says what it holds: labels, the input it expects, the outputs, the calibration.
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("0,1,2,3,4,5,6,7,8,9", metadata["labels"]);
        Assert.Equal(network.Spec.Name, metadata["architecture"]);
        Assert.Contains("0-255", metadata["input"]);
        Assert.Contains("feed raw pixel values", metadata["input_normalisation"]);
        Assert.Contains("probabilities [N,10]", metadata["outputs"]);
        Assert.Equal(network.Calibration != Calibration.None, metadata.ContainsKey("calibration_temperature"));
        if (network.Calibration != Calibration.None)
            Assert.Equal(network.Calibration.Temperature, float.Parse(metadata["calibration_temperature"], System.Globalization.CultureInfo.InvariantCulture));
        var input = new DenseTensor<float>([Count, 1, 28, 28]);
        for (int i = 0; i < Count * 784; i++) input.Buffer.Span[i] = Test.Images[i];
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", input)]);
        var scores = results.First(r => r.Name == "scores").AsEnumerable<float>().ToArray();
        var probabilities = results.First(r => r.Name == "probabilities").AsEnumerable<float>().ToArray();

        Assert.Equal(Count * 10, probabilities.Length);
        for (int i = 0; i < Count * 10; i++)
        {
            Assert.True(Math.Abs(probabilities[i] - expectedProbabilities[i]) <= 1e-4f, $"probability {i}: onnx {probabilities[i]} vs {expectedProbabilities[i]}");
            float tolerance = 1e-4f * Math.Max(1, Math.Abs(expectedScores[i]));
            // A committee's scores are logs of probabilities: below 1e-4 they say nothing the probabilities do not.
            if (network.Layers is [CommitteeLayer] && expectedProbabilities[i] < 1e-4f) continue;
            Assert.True(Math.Abs(scores[i] - expectedScores[i]) <= tolerance, $"score {i}: onnx {scores[i]} vs {expectedScores[i]}");
        }
    }
}
