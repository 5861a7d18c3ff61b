// Committees (lenet ensemble): the mean of the members' probabilities, kept through a model file,
// and refused where it makes no sense (one member, a committee inside a committee, training).
using LeNet.Data;
using LeNet.Layers;
using LeNet.Models;
using Xunit;

namespace LeNet.Tests.Models;

public sealed class CommitteeTests
{
    static readonly MnistDataset Test = MnistDataset.Load(TestPaths.SmallMnist, train: false);
    const int Count = 64;

    static Network Random(ArchitectureSpec spec, ulong seed)
    {
        var n = Architectures.Build(spec);
        n.Initialize(seed);
        return n;
    }

    static float[] Probabilities(Network n)
    {
        var p = new float[Count * 10];
        n.Predict(Test.Images, Count, p, threads: 2);
        return p;
    }

    [Fact]
    public void A_committee_gives_the_mean_of_its_members_probabilities_and_keeps_it_in_its_file()
    {
        var members = new[]
        {
            PretrainedModels.LeNet5,
            PretrainedModels.LeNet5Classic,
            Random(Architectures.Default(Architectures.LeNet5) with { Activation = Activation.Tanh, Pooling = PoolingKind.Average }, 5),
        };
        var committee = Committee.Join(members);
        Assert.Equal("committee:lenet5,lenet5-1998,lenet5/tanh/average", committee.Spec.Name);
        Assert.Equal(members.Sum(m => m.Parameters.Length), committee.Parameters.Length);

        var expected = new float[Count * 10];
        foreach (var m in members)
        {
            var p = Probabilities(m);
            for (int i = 0; i < p.Length; i++) expected[i] += p[i] / members.Length;
        }
        var actual = Probabilities(committee);
        for (int i = 0; i < actual.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) < 1e-5f, $"{i}: {actual[i]} vs {expected[i]}");

        // The file holds the members' weights: loaded, it gives the same probabilities; so does a copy.
        string path = Path.Combine(TestPaths.NewTempDirectory(), "committee.lenet");
        ModelFile.Save(path, committee);
        var loaded = ModelFile.Load(path);
        Assert.Equal(committee.Spec.Name, loaded.Spec.Name);
        Assert.Equal(actual, Probabilities(loaded));
        Assert.Equal(actual, Probabilities(committee.Clone()));
        // One image, the library's way.
        Assert.Equal(Array.IndexOf(expected[..10], expected[..10].Max()), loaded.Predict(Test.Image(0)).Digit);
    }

    [Fact]
    public void A_committee_is_refused_where_it_makes_no_sense()
    {
        var a = PretrainedModels.LeNet5;
        Assert.Contains("at least 2", Assert.Throws<LeNetException>(() => Committee.Join([a])).Message);
        var pair = Committee.Join([a, PretrainedModels.LeNet5Classic]);
        Assert.Contains("not committees", Assert.Throws<LeNetException>(() => Committee.Join([a, pair])).Message);
        // Not trained: its backward pass says how to make one instead.
        var ws = pair.CreateWorkspace(1);
        Assert.Throws<NotSupportedException>(() => pair.Backward(ws, 1));
        // A file naming members this version does not know is refused as a model file.
        var bad = new ArchitectureSpec("committee:lenet5,resnet50");
        Assert.Throws<LeNetException>(() => Committee.Members(bad));
    }
}
