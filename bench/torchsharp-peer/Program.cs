// TorchSharp peer for the LeNet.NET benchmark: the same lenet5 as bench/torch_peer.py (conv 6@5x5 same,
// max pool, conv 16@5x5, max pool, conv 120@5x5, dense 84, dense 10; relu; softmax cross-entropy; Adam
// at 0.002), trained on the same MNIST images with the same batch size and thread count, on libtorch
// 2.10 through TorchSharp. Same protocol as the Python peer: one command per line on stdin, one JSON
// line per command on stdout:
//   train BATCH THREADS STEPS WARMUP  ->  {"batch", "threads", "stepSeconds": [...]}
//   quit
using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

if (args.Length < 1) { Console.Error.WriteLine("usage: TorchSharpPeer MNIST_DIR"); return 2; }
try { NativeGlue.AllowMissingIostreamInit(); }
catch (Exception e) when (e is IOException or InvalidDataException) { Console.Error.WriteLine($"cannot prepare libLibTorchSharp.so: {e.Message}"); return 1; }

const int limit = 16384;
var (pixels, rows, cols) = ReadImages(Path.Combine(args[0], "train-images-idx3-ubyte.gz"), limit);
var labelBytes = ReadLabels(Path.Combine(args[0], "train-labels-idx1-ubyte.gz"), limit);
int n = Math.Min(labelBytes.Length, pixels.Length / (rows * cols));
// The same standardisation as LeNet.NET's lenet5 input encoding (MNIST mean and deviation).
var standardised = new float[n * rows * cols];
for (int i = 0; i < standardised.Length; i++) standardised[i] = (pixels[i] / 255f - 0.1307f) / 0.3081f;
using var images = torch.tensor(standardised, [n, 1, rows, cols]);
using var labels = torch.tensor(labelBytes.Select(b => (long)b).ToArray(), [n]);
Console.WriteLine(JsonSerializer.Serialize(new { ready = true, torch = $"TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__})" }));

string? line;
while ((line = Console.ReadLine()) is not null)
{
    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (parts.Length == 0 || parts[0] == "quit") break;
    int batch = int.Parse(parts[1]), threads = int.Parse(parts[2]), steps = int.Parse(parts[3]), warmup = int.Parse(parts[4]);
    torch.set_num_threads(threads);
    torch.manual_seed(1);
    using var model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding: 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10));
    using var optimizer = optim.Adam(model.parameters(), lr: 0.002);
    using var lossFunction = nn.CrossEntropyLoss();
    var times = new List<double>();
    for (int s = 0; s < warmup + steps; s++)
    {
        using var scope = torch.NewDisposeScope();
        long start = (long)s * batch % (n - batch);
        var x = images.narrow(0, start, batch);
        var y = labels.narrow(0, start, batch);
        long t0 = Stopwatch.GetTimestamp();
        optimizer.zero_grad();
        var loss = lossFunction.forward(model.forward(x), y);
        loss.backward();
        optimizer.step();
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        if (s >= warmup) times.Add(seconds);
    }
    Console.WriteLine(JsonSerializer.Serialize(new { batch, threads, stepSeconds = times }));
}
return 0;

static (byte[] Pixels, int Rows, int Cols) ReadImages(string path, int limit)
{
    using var s = new BinaryReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
    if (BigEndian(s) != 2051) throw new InvalidDataException($"{path} is not an IDX image file");
    int count = Math.Min(BigEndian(s), limit), rows = BigEndian(s), cols = BigEndian(s);
    return (s.ReadBytes(count * rows * cols), rows, cols);
}

static byte[] ReadLabels(string path, int limit)
{
    using var s = new BinaryReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
    if (BigEndian(s) != 2049) throw new InvalidDataException($"{path} is not an IDX label file");
    return s.ReadBytes(Math.Min(BigEndian(s), limit));
}

static int BigEndian(BinaryReader r) => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(r.ReadBytes(4));
