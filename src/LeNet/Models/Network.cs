// A feed-forward stack of layers over one contiguous parameter array. Forward and backward run on
// a Workspace (activations, gradients, scratch, a parameter-gradient twin) so several threads can
// use one Network at once, each with its own workspace.
using System.Runtime.CompilerServices;
using LeNet.Kernels;
using LeNet.Layers;

namespace LeNet.Models;

/// <summary>How a 28x28 grey image (0 = background, 255 = ink) becomes the network input.</summary>
/// <param name="Pad">Border added on every side (2 for the paper's 32x32 input).</param>
/// <param name="Background">Input value for pixel 0.</param>
/// <param name="Ink">Input value for pixel 255.</param>
public sealed record InputEncoding(int Pad, float Background, float Ink)
{
    public int Side => 28 + 2 * Pad;

    public void Encode(ReadOnlySpan<byte> image28, Span<float> destination)
    {
        int side = Side;
        if (image28.Length < 784) throw new ArgumentException("An image is 784 bytes (28x28).", nameof(image28));
        if (destination.Length < side * side) throw new ArgumentException($"The destination holds fewer than {side}x{side} floats.", nameof(destination));
        if (Pad > 0) destination[..(side * side)].Fill(Background);
        float scale = (Ink - Background) / 255f;
        for (int y = 0; y < 28; y++)
            Pixels.ToFloats(image28.Slice(y * 28, 28), destination.Slice((y + Pad) * side + Pad, 28), scale, Background);
    }
}

public sealed class Network
{
    public Network(ArchitectureSpec spec, InputEncoding encoding, IReadOnlyList<Layer> layers, Loss loss)
    {
        if (layers.Count == 0) throw new ArgumentException("A network needs at least one layer.");
        for (int i = 1; i < layers.Count; i++)
            if (layers[i].InputShape.Size != layers[i - 1].OutputShape.Size)
                throw new ArgumentException($"Layer {layers[i].Name} expects {layers[i].InputShape} but {layers[i - 1].Name} gives {layers[i - 1].OutputShape}.");
        if (layers[^1].OutputShape.Size != Loss.Classes) throw new ArgumentException("The last layer must have 10 outputs.");
        if (layers[0].InputShape.Size != encoding.Side * encoding.Side) throw new ArgumentException("Input encoding does not match the first layer.");
        Spec = spec;
        Encoding = encoding;
        Layers = layers;
        Loss = loss;
        int offset = 0;
        foreach (var layer in layers) { layer.ParameterOffset = offset; offset += layer.ParameterCount; }
        Parameters = new float[offset];
    }

    public ArchitectureSpec Spec { get; }
    public InputEncoding Encoding { get; }
    public IReadOnlyList<Layer> Layers { get; }
    public Loss Loss { get; }
    /// <summary>How far its probabilities can be trusted (from the model file; <see cref="Calibration.None"/> if not fitted).</summary>
    public Calibration Calibration { get; set; } = Calibration.None;

    /// <summary>The vector width the kernels run at on this machine: V512, V256, V128 or Scalar.</summary>
    public static string KernelWidth => Simd.Width.ToString();
    /// <summary>All trainable parameters, layer after layer.</summary>
    public float[] Parameters { get; }
    public Shape InputShape => Layers[0].InputShape;
    public int InputSize => Layers[0].InputShape.Size;

    public Span<float> ParametersOf(Layer layer) => Parameters.AsSpan(layer.ParameterOffset, layer.ParameterCount);

    /// <summary>Fresh random weights from the seed (each layer's own initialiser).</summary>
    public void Initialize(ulong seed)
    {
        Array.Clear(Parameters);
        for (int i = 0; i < Layers.Count; i++) Layers[i].InitializeParameters(ParametersOf(Layers[i]), Rng.For(seed, 1000 + (ulong)i));
        ParametersChanged();
    }

    /// <summary>Call after writing <see cref="Parameters"/> from outside (loading, copying): the layers that keep their own copy update it.</summary>
    public void ParametersChanged()
    {
        foreach (var l in Layers) l.ParametersChanged(ParametersOf(l));
        Volatile.Write(ref _inference, null);
    }

    /// <summary>Whether some layer keeps statistics (batch normalisation) that <see cref="RecomputeStatistics"/> sets.</summary>
    public bool HasStatistics => Layers.Any(l => l.StatisticsCount > 0);

    Network? _inference;

    /// <summary>
    /// The network as inference runs it: each batch normalisation folded into the convolution or
    /// dense layer before it (w′ = w·γ/√(σ²+ε), b′ = (b − μ)·γ/√(σ²+ε) + β) and dropout left out;
    /// this network itself when it has no batch normalisation. A copy, built on first use after
    /// <see cref="ParametersChanged"/> (which <see cref="RecomputeStatistics"/> calls).
    /// </summary>
    public Network ForInference => Volatile.Read(ref _inference) ?? (_inference = Folded());

    Network Folded()
    {
        if (!Layers.Any(l => l is BatchNorm)) return this;
        var layers = new List<Layer>();
        var sources = new List<(Layer Source, BatchNorm? Norm)>();
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            if (l is Dropout) continue;
            if (l.Activation == Activation.None && i + 1 < Layers.Count && Layers[i + 1] is BatchNorm norm && l is Conv2d or Dense)
            {
                layers.Add(l switch
                {
                    Conv2d c => new Conv2d(c.Name, c.InputShape, c.OutputShape.C, c.KernelSize, c.Padding, norm.Activation, c.ConnectionTable),
                    _ => new Dense(l.Name, l.InputShape, l.OutputShape.C, norm.Activation),
                });
                sources.Add((l, norm));
                i++;
            }
            else
            {
                layers.Add(l.Copy());
                sources.Add((l, null));
            }
        }
        var folded = new Network(Spec, Encoding, layers, Loss) { Calibration = Calibration };
        for (int i = 0; i < layers.Count; i++)
        {
            var (source, norm) = sources[i];
            var p = folded.ParametersOf(layers[i]);
            ParametersOf(source).CopyTo(p);
            if (norm is null) continue;
            int c = norm.InputShape.C;
            var scale = new float[c];
            var shift = new float[c];
            norm.InferenceScaleShift(ParametersOf(norm), scale, shift);
            switch (layers[i])
            {
                case Conv2d conv: conv.ScaleOutputs(p, scale, shift); break;
                case Dense dense: dense.ScaleOutputs(p, scale, shift); break;
            }
        }
        folded.ParametersChanged();
        folded._inference = folded;
        return folded;
    }

    /// <summary>
    /// Sets every batch normalisation's saved mean and variance to the statistics of
    /// <paramref name="count"/> images (784 bytes each) as training passes see them, in batches of
    /// <paramref name="batchSize"/>: the mean of the batches' means, and the mean of their variances
    /// plus the variance of their means (the population variance when the batches are the same size).
    /// </summary>
    public void RecomputeStatistics(ReadOnlySpan<byte> images, int count, int batchSize, int threads = 0)
    {
        var norms = Layers.Select((l, i) => (Layer: l as BatchNorm, Index: i)).Where(t => t.Layer is not null).ToArray();
        if (norms.Length == 0) return;
        if (count < 1 || images.Length < count * 784) throw new ArgumentException("Statistics need at least one image of 784 bytes.", nameof(images));
        batchSize = Math.Clamp(batchSize, 1, count);
        int batches = count / batchSize, channels = norms.Sum(t => t.Layer!.InputShape.C);
        var means = new float[batches * channels];
        var variances = new float[batches * channels];
        var pixels = images[..(batches * batchSize * 784)].ToArray();
        threads = Math.Clamp(threads <= 0 ? Environment.ProcessorCount : threads, 1, batches);
        Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => new Workspace(this, batchSize, training: false),   // forward only: no gradient buffers; the mode is set per pass
            (b, _, ws) =>
            {
                for (int s = 0; s < batchSize; s++) Encoding.Encode(pixels.AsSpan((b * batchSize + s) * 784, 784), ws.Input.Slice(s * InputSize, InputSize));
                ws.Mode = new ForwardMode(true, (ulong)b);
                Forward(ws, batchSize);
                int at = b * channels;
                foreach (var (norm, index) in norms)
                {
                    int c = norm!.InputShape.C;
                    norm.StatisticsOfLastPass(ws.Scratch[index], means.AsSpan(at, c), variances.AsSpan(at, c));
                    at += c;
                }
                return ws;
            },
            _ => { });
        int offset = 0;
        foreach (var (norm, _) in norms)
        {
            int c = norm!.InputShape.C;
            var p = ParametersOf(norm);
            for (int ch = 0; ch < c; ch++)
            {
                double mean = 0, variance = 0;
                for (int b = 0; b < batches; b++) mean += means[b * channels + offset + ch];
                mean /= batches;
                for (int b = 0; b < batches; b++)
                {
                    double d = means[b * channels + offset + ch] - mean;
                    variance += variances[b * channels + offset + ch] + d * d;
                }
                p[2 * c + ch] = (float)mean;
                p[3 * c + ch] = (float)(variance / batches);
            }
            offset += c;
        }
        ParametersChanged();
    }

    /// <summary>A training workspace for up to maxBatch samples; without <paramref name="parameterGradients"/> it has no gradient buffer of its own, and <see cref="Backward(Workspace, int, Span{float}, bool)"/> is given one.</summary>
    public Workspace CreateWorkspace(int maxBatch, bool parameterGradients = true) => new(this, maxBatch, training: true, parameterGradients);

    // Inference workspaces (no gradient buffers) kept for reuse, so a prediction allocates nothing
    // but its results: most are one image (the web app), the rest chunks of up to 256.
    readonly List<Workspace> _inferencePool = [];

    Workspace RentInference(int n)
    {
        lock (_inferencePool)
        {
            int best = -1;
            for (int i = 0; i < _inferencePool.Count; i++)
                if (_inferencePool[i].MaxBatch >= n && (best < 0 || _inferencePool[i].MaxBatch < _inferencePool[best].MaxBatch)) best = i;
            if (best >= 0)
            {
                var ws = _inferencePool[best];
                _inferencePool.RemoveAt(best);
                return ws;
            }
        }
        return new Workspace(this, n <= 1 ? 1 : (int)Math.Min(MaxPredictChunk, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n)), training: false);
    }

    void ReturnInference(Workspace ws)
    {
        lock (_inferencePool) if (_inferencePool.Count < 2 * Environment.ProcessorCount) _inferencePool.Add(ws);
    }

    // Images per forward pass: a few at a time keep every layer's activations in L2 (256 at once
    // streamed megabytes through memory layer after layer and ran at about half the speed).
    const int MaxPredictChunk = 16;

    /// <summary>Runs the layers on ws.Input for n samples; the result is ws.Output.</summary>
    public void Forward(Workspace ws, int n)
    {
        ws.Check(this, n);
        ReadOnlySpan<float> p = Parameters;
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            l.Forward(p.Slice(l.ParameterOffset, l.ParameterCount), ws.Activations[i], ws.Activations[i + 1], n, ws.Scratch[i], ws.Mode);
        }
    }

    /// <summary>Back-propagates ws.OutputGradient; adds parameter gradients to ws.ParameterGradients.</summary>
    public void Backward(Workspace ws, int n, bool inputGradient = false) => Backward(ws, n, ws.ParameterGradients, inputGradient);

    /// <summary>Back-propagates ws.OutputGradient; adds parameter gradients to <paramref name="parameterGradients"/> (one per parameter).</summary>
    public void Backward(Workspace ws, int n, Span<float> parameterGradients, bool inputGradient = false)
    {
        ws.Check(this, n);
        if (parameterGradients.Length != Parameters.Length)
            throw new ArgumentException($"Expected {Parameters.Length} parameter gradients, got {parameterGradients.Length}.", nameof(parameterGradients));
        if (!ws.ForTraining) throw new InvalidOperationException("This workspace was made for inference and has no gradient buffers.");
        ReadOnlySpan<float> p = Parameters;
        for (int i = Layers.Count - 1; i >= 0; i--)
        {
            var l = Layers[i];
            Span<float> dx = i > 0 || inputGradient ? ws.Gradients[i] : Span<float>.Empty;
            l.Backward(p.Slice(l.ParameterOffset, l.ParameterCount), ws.Activations[i], ws.Activations[i + 1],
                ws.Gradients[i + 1], dx, parameterGradients.Slice(l.ParameterOffset, l.ParameterCount), n, ws.Scratch[i]);
        }
    }

    /// <summary>
    /// The digit one 28x28 image (784 bytes, 0 background to 255 ink, as MNIST) shows, with the
    /// network's probability for every class. For photos and other images use
    /// <see cref="Reading.DigitReader"/>, which finds the digits first and says when it is unsure.
    /// </summary>
    public Prediction Predict(ReadOnlySpan<byte> image28)
    {
        if (image28.Length != 784) throw new ArgumentException($"A 28x28 image has 784 bytes, not {image28.Length}.", nameof(image28));
        var probabilities = new float[Loss.Classes];
        Predict(image28, 1, probabilities, threads: 1);
        return new Prediction(Array.IndexOf(probabilities, probabilities.Max()), probabilities);
    }

    /// <summary>
    /// Class probabilities (count × 10) for 28x28 images (784 bytes each), using up to
    /// <paramref name="threads"/> cores (0: all); optionally the raw outputs too. Thread-safe.
    /// </summary>
    public void Predict(ReadOnlySpan<byte> images, int count, Span<float> probabilities, int threads = 0, Span<float> rawOutputs = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int classes = Loss.Classes;
        if (images.Length < count * 784) throw new ArgumentException("Fewer image bytes than count × 784.", nameof(images));
        if (probabilities.Length < count * classes) throw new ArgumentException("Room for fewer probabilities than count × 10.", nameof(probabilities));
        if (!rawOutputs.IsEmpty && rawOutputs.Length < count * classes) throw new ArgumentException("Room for fewer raw outputs than count × 10.", nameof(rawOutputs));
        if (count == 0) return;
        var inference = ForInference;
        if (inference != this)
        {
            inference.Predict(images, count, probabilities, threads, rawOutputs);
            return;
        }
        threads = threads <= 0 ? Environment.ProcessorCount : threads;
        // Chunks of at most 16 images, dealt out to the threads when there is enough work to share.
        int chunk = count < 16 ? count : Math.Clamp((count + threads - 1) / threads, 1, MaxPredictChunk);
        int chunks = (count + chunk - 1) / chunk;
        int workers = Math.Min(threads, chunks);
        if (workers == 1) PredictChunks(images, count, probabilities, rawOutputs, chunk, null);
        else PredictInParallel(images, count, probabilities, rawOutputs, chunk, workers);
    }

    // Its own method, so the closure exists only when there are threads to share the work.
    unsafe void PredictInParallel(ReadOnlySpan<byte> images, int count, Span<float> probabilities, Span<float> rawOutputs, int chunk, int workers)
    {
        int classes = Loss.Classes, rawLength = rawOutputs.IsEmpty ? 0 : count * classes;
        fixed (byte* pi = images)
        fixed (float* pp = probabilities, pr = rawOutputs)
        {
            nint ai = (nint)pi, ap = (nint)pp, ar = (nint)pr;
            var next = new StrongBox<int>();
            Action<int> work = _ => PredictChunks(new ReadOnlySpan<byte>((void*)ai, count * 784), count, new Span<float>((void*)ap, count * classes),
                new Span<float>((void*)ar, rawLength), chunk, next);
            if (!SharedWorkers.TryRun(workers, work))
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, work);
        }
    }

    /// <summary>
    /// One process-wide pool of inference threads, taken by one batch at a time: its threads are
    /// already awake between the batches of an evaluation, where Parallel.For hands work to thread-pool
    /// threads that may have to be woken first. A batch that finds it busy uses Parallel.For.
    /// </summary>
    static class SharedWorkers
    {
        static WorkerPool? s_pool;
        static int s_busy;

        public static bool TryRun(int workers, Action<int> work)
        {
            if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
            try
            {
                if (s_pool is null || s_pool.Workers != workers)
                {
                    s_pool?.Dispose();
                    s_pool = new WorkerPool(workers);
                }
                s_pool.Run(work);
                return true;
            }
            finally { Volatile.Write(ref s_busy, 0); }
        }
    }

    // Chunks of the batch on one thread, with a pooled workspace: all of them, or (threads sharing a
    // batch) the ones it claims from the shared counter, so a core that runs slower does fewer.
    void PredictChunks(ReadOnlySpan<byte> images, int count, Span<float> probabilities, Span<float> rawOutputs, int chunk, StrongBox<int>? next)
    {
        int classes = Loss.Classes, chunks = (count + chunk - 1) / chunk;
        var ws = RentInference(Math.Min(chunk, count));
        try
        {
            for (int c = Claim(next, -1); c < chunks; c = Claim(next, c))
            {
                int start = c * chunk, n = Math.Min(chunk, count - start);
                for (int s = 0; s < n; s++) Encoding.Encode(images.Slice((start + s) * 784, 784), ws.Input.Slice(s * InputSize, InputSize));
                Forward(ws, n);
                if (!rawOutputs.IsEmpty) ws.Output[..(n * classes)].CopyTo(rawOutputs.Slice(start * classes));
                for (int s = 0; s < n; s++) Loss.Probabilities(ws.Output.Slice(s * classes, classes), probabilities.Slice((start + s) * classes, classes));
            }
        }
        finally { ReturnInference(ws); }
    }

    static int Claim(StrongBox<int>? next, int last) => next is null ? last + 1 : Interlocked.Increment(ref next.Value) - 1;

    /// <summary>
    /// Runs one 28x28 image (784 bytes, 0 = background, 255 = ink) and keeps what every layer saw:
    /// the encoded input, each layer's output, and the class probabilities. Thread-safe: it uses its own workspace.
    /// </summary>
    public NetworkTrace Trace(ReadOnlySpan<byte> image28)
    {
        if (image28.Length != 784) throw new ArgumentException("An image is 784 bytes (28x28).", nameof(image28));
        var ws = RentInference(1);
        try
        {
            Encoding.Encode(image28, ws.Input);
            Forward(ws, 1);
            var probabilities = new float[Loss.Classes];
            Loss.Probabilities(ws.Output[..Loss.Classes], probabilities);
            var outputs = new float[Layers.Count][];
            for (int i = 0; i < Layers.Count; i++) outputs[i] = ws.Activations[i + 1].AsSpan(0, Layers[i].OutputShape.Size).ToArray();
            return new NetworkTrace(ws.Input[..InputSize].ToArray(), outputs, probabilities);
        }
        finally { ReturnInference(ws); }
    }

    /// <summary>A copy with the same architecture and weights.</summary>
    public Network Clone()
    {
        var copy = Architectures.Build(Spec);
        Parameters.CopyTo(copy.Parameters, 0);
        copy.ParametersChanged();
        copy.Calibration = Calibration;
        return copy;
    }
}

/// <summary>One image's pass through a network: the encoded input, each layer's output (C, H, W), the class probabilities.</summary>
public sealed record NetworkTrace(float[] Input, float[][] LayerOutputs, float[] Probabilities)
{
    public int Digit => Array.IndexOf(Probabilities, Probabilities.Max());
}

/// <summary>Per-thread buffers for a network: activations, layer scratch and, for training, gradients and a parameter-gradient twin.</summary>
public sealed class Workspace
{
    readonly Network _network;
    readonly float[][] _activations, _gradients, _scratch;

    internal Workspace(Network network, int maxBatch, bool training, bool parameterGradients = true)
    {
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch));
        _network = network;
        MaxBatch = maxBatch;
        var layers = network.Layers;
        _activations = new float[layers.Count + 1][];
        _gradients = new float[layers.Count + 1][];
        _scratch = new float[layers.Count][];
        ForTraining = training;
        _activations[0] = new float[maxBatch * layers[0].InputShape.Size];
        _gradients[0] = training ? new float[maxBatch * layers[0].InputShape.Size] : [];
        for (int i = 0; i < layers.Count; i++)
        {
            _activations[i + 1] = new float[maxBatch * layers[i].OutputShape.Size];
            _gradients[i + 1] = training ? new float[maxBatch * layers[i].OutputShape.Size] : [];
            _scratch[i] = new float[layers[i].ScratchLength(maxBatch)];
        }
        ParameterGradients = training && parameterGradients ? new float[network.Parameters.Length] : [];
        Mode = new ForwardMode(training);
    }

    /// <summary>How <c>Network.Forward</c> runs the layers: training (batch statistics, dropout) for a training workspace, else inference. Set the seed per pass for dropout.</summary>
    public ForwardMode Mode { get; set; }

    public int MaxBatch { get; }
    /// <summary>Whether it has the gradient buffers that <c>Network.Backward</c> needs.</summary>
    public bool ForTraining { get; }
    public Span<float> Input => _activations[0];
    public Span<float> Output => _activations[^1];
    public Span<float> OutputGradient => _gradients[^1];
    public Span<float> InputGradient => _gradients[0];
    /// <summary>Activations[0] is the input, Activations[i + 1] the output of layer i.</summary>
    public float[][] Activations => _activations;
    /// <summary>Gradients[i] is ∂L/∂Activations[i].</summary>
    public float[][] Gradients => _gradients;
    public float[][] Scratch => _scratch;
    public float[] ParameterGradients { get; }

    internal void Check(Network network, int n)
    {
        if (!ReferenceEquals(network, _network) && network.Parameters.Length != ParameterGradients.Length)
            throw new InvalidOperationException("This workspace belongs to another network.");
        if (n < 1 || n > MaxBatch) throw new ArgumentOutOfRangeException(nameof(n), $"Batch of {n} does not fit a workspace for {MaxBatch}.");
    }
}
