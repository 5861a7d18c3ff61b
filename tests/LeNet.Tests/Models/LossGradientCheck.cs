using LeNet.Kernels;
using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Models;

/// <summary>Compares a loss's gradient with central differences of its value, for every output.</summary>
internal static class LossGradientCheck
{
    public static void Run(Loss loss, float[] outputs, byte[] labels)
    {
        int n = labels.Length, size = outputs.Length;
        var d = new float[size];
        loss.Compute(outputs, labels, n, d, 1f, out _);
        for (int i = 0; i < size; i++)
        {
            float keep = outputs[i];
            outputs[i] = keep + 1e-2f; double up = loss.Compute(outputs, labels, n, new float[size], 1f, out _);
            outputs[i] = keep - 1e-2f; double down = loss.Compute(outputs, labels, n, new float[size], 1f, out _);
            outputs[i] = keep;
            Assert.Equal((up - down) / 2e-2, d[i], 2);
        }
    }
}
