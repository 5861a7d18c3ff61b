// LeNet.NET against its peers, measured in one run: training throughput against PyTorch (Debian's
// python3-torch) and TorchSharp (libtorch 2.10), each started as a child process and driven over
// stdin/stdout, alternating with our engine round by round; inference against ONNX Runtime running
// our exported model. Same network (lenet5), batch size and thread count; medians over rounds after
// warm-up. A ratio is the median of the rounds' own ratios (ours over the peer measured right after),
// so a minute in which the shared machine runs slow weighs on both sides of it.
//   dotnet run -c Release --project bench -- --quick     (under a minute; ends with one JSON line)
//   dotnet run -c Release --project bench                (longer, adds time to 99% test accuracy with lenet train --fast's recipe)
//   --load [--clients 50] [--seconds 60]: lenet serve under load on loopback (throughput, p50/p99, memory).
//   --no-torchsharp skips the TorchSharp peer (building it restores about 500 MB of packages once).
//   --isa native|avx512|avx2|v128|all: ours and PyTorch restricted to one instruction set (ours in a
//   child process with the runtime's switches, PyTorch with ATen's and oneDNN's); --quick runs all.
//   ONNX Runtime has no such switch and runs at its best in every child. Each row also gives our share
//   of that width's FMA loop and the share 5x the peer's rate would take ("5x needs").
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeNet.Data;
using LeNet.Interop;
using LeNet.Kernels;
using LeNet.Models;
using LeNet.Training;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
string python = Arg("--python") ?? "/usr/bin/python3";
string dataDir = Arg("--data") ?? FindData();
int rounds = quick ? 5 : 9;
int[] batches = [64, 256];
int[] threadCounts = [1, Math.Min(2, Environment.ProcessorCount)];
threadCounts = threadCounts.Distinct().ToArray();

// The instruction sets: how our runtime and PyTorch are limited to each (an empty list: as they are).
var isaSwitches = new Dictionary<string, (string[] Ours, string[] Torch)>
{
    ["avx512"] = ([], []),
    ["avx2"] = (["DOTNET_EnableAVX512=0"], ["ATEN_CPU_CAPABILITY=avx2", "ONEDNN_MAX_CPU_ISA=AVX2"]),
    ["v128"] = (["DOTNET_EnableAVX2=0"], ["ATEN_CPU_CAPABILITY=default", "ONEDNN_MAX_CPU_ISA=SSE41"]),
};
string isa = Arg("--isa") ?? (quick ? "all" : "native");
if (isa != "native" && isa != "all" && !isaSwitches.ContainsKey(isa))
{
    Console.Error.WriteLine($"error: --isa must be native, avx512, avx2, v128 or all (got {isa}).");
    return 2;
}
// A child measures one set: our process was started with its switches; PyTorch gets its own.
string[] torchEnvironment = isaSwitches.TryGetValue(isa, out var sw) && args.Contains("--child") ? sw.Torch : [];

if (args.Contains("--load")) return LoadTest.Run(int.Parse(Arg("--clients") ?? "50"), double.Parse(Arg("--seconds") ?? "60", CultureInfo.InvariantCulture), dataDir);
if (args.Contains("--calibrate")) return LeNet.Bench.Calibrate.Run(dataDir, Arg("--calibrate")!, Arg("--out") ?? Arg("--calibrate")!, int.Parse(Arg("--count") ?? "20"));
if (args.Contains("--photos")) return LeNet.Bench.PhotoRun.Run(dataDir, int.Parse(Arg("--count") ?? "40"), Arg("--model") ?? PretrainedModels.Default, Arg("--only"), Arg("--save"), args.Contains("--mistakes"));
if (args.Contains("--layers"))
{
    // A training pass's size: micro-batches of 16, or ghost batches of 32 for a network with batch normalisation.
    var layersSpec = Architectures.Default(Arg("--arch") ?? Architectures.LeNet5);
    LayerTimes(layersSpec, int.Parse(Arg("--batch") ?? (Architectures.Build(layersSpec).HasStatistics ? TrainingStep.GhostBatch : 16).ToString()));
    return 0;
}
var train = MnistDataset.Load(dataDir, train: true).Take(16384);
var test = MnistDataset.Load(dataDir, train: false);
var spec = Architectures.Default(Architectures.LeNet5);
double flopsPerImage = TrainingFlopsPerImage(Architectures.Build(spec));
var (peakPerCore, peakHow) = PeakGflops();
var fmaRate = threadCounts.ToDictionary(t => t, FmaGflops);

Console.WriteLine($"LeNet.NET bench ({(quick ? "quick" : "full")}): lenet5, {Environment.ProcessorCount} cores, {Simd.Width} kernels, {rounds} rounds");
Console.WriteLine($"Training cost: {flopsPerImage / 1e6:F2} MFLOP per image (forward + backward, 2 FLOP per multiply-add).");
Console.WriteLine($"Peak: {peakPerCore:F0} GFLOP/s per core at the nominal clock ({peakHow}); a loop of independent FMAs measures "
    + string.Join(", ", fmaRate.Select(kv => $"{kv.Value:F0} GFLOP/s on {kv.Key} thread{(kv.Key > 1 ? "s" : "")}")) + " (turbo, and the minute's share of the machine).");

// ---------- training: ours vs PyTorch and TorchSharp, alternating ----------
using var torch = TrainingPeer.Start("PyTorch", python, [Path.Combine(AppContext.BaseDirectory, "torch_peer.py"), dataDir], out string torchWhy, torchEnvironment);
Console.WriteLine(torch is null ? $"PyTorch: not measured ({torchWhy})." : $"PyTorch: {torch.Version} (from {python})");
string torchSharpWhy = args.Contains("--child") ? "measured with all instruction sets only" : "--no-torchsharp";
using var torchSharp = args.Contains("--no-torchsharp") || args.Contains("--child") ? null : TrainingPeer.StartTorchSharp(dataDir, out torchSharpWhy);
Console.WriteLine(torchSharp is null ? $"TorchSharp: not measured ({torchSharpWhy})." : $"TorchSharp: {torchSharp.Version}");
var trainRows = new List<(int Batch, int Threads, double Ours, double? Torch, double? TorchSharp, double? VsTorch, double? VsTorchSharp, double AllocPerStep)>();
// Warm-up, not counted: rounds of the first setting for every engine for two seconds. Measured right
// after the peers start (the TorchSharp one is first built by `dotnet build`, whose worker processes
// take a while to wind down), the first setting ran 15–25% slow, for us more than for the peers.
var warmupClock = Stopwatch.StartNew();
while (warmupClock.Elapsed.TotalSeconds < 2)
{
    OurTrainingSteps(spec, train, test, batches[0], threadCounts[0], 12, 3);
    torch?.Train(batches[0], threadCounts[0], 12, 3);
    torchSharp?.Train(batches[0], threadCounts[0], 12, 3);
}
foreach (int batch in batches)
    foreach (int threads in threadCounts)
    {
        int steps = Math.Max(6, (quick ? 1200 : 4000) / batch), warmup = 3;
        var ours = new List<double>();
        var pyTorch = new List<double>();
        var sharp = new List<double>();
        // The ratios are paired: each round's ours over the peer's run right after it, the median of
        // those. The machine's speed drifts from minute to minute; a pair shares the minute.
        var vsTorch = new List<double>();
        var vsSharp = new List<double>();
        // Allocations are counted for the whole process, where the peers' process plumbing allocates
        // now and then (with the TorchSharp peer running, 75–187 B per step in some rounds; without it,
        // none); the cleanest round is reported, as an allocation inside our step would show in every round.
        double alloc = double.PositiveInfinity;
        for (int r = 0; r < rounds; r++)
        {
            var (stepSeconds, bytesPerStep) = OurTrainingSteps(spec, train, test, batch, threads, steps, warmup);
            ours.Add(batch / Median(stepSeconds));
            alloc = Math.Min(alloc, bytesPerStep);
            if (torch?.Train(batch, threads, steps, warmup) is { } t) { pyTorch.Add(batch / Median(t)); vsTorch.Add(ours[^1] / pyTorch[^1]); }
            if (torchSharp?.Train(batch, threads, steps, warmup) is { } ts) { sharp.Add(batch / Median(ts)); vsSharp.Add(ours[^1] / sharp[^1]); }
        }
        trainRows.Add((batch, threads, Median(ours), pyTorch.Count > 0 ? Median(pyTorch) : null, sharp.Count > 0 ? Median(sharp) : null,
            vsTorch.Count > 0 ? Median(vsTorch) : null, vsSharp.Count > 0 ? Median(vsSharp) : null, alloc));
    }

Console.WriteLine();
Console.WriteLine("Training (images/s and ratios, medians of rounds; a ratio pairs each round's runs)");
// "5x needs": the share of the FMA loop that 5 times the peer's rate would take, to tell a target that
// tuning can reach from one that needs less arithmetic.
Console.WriteLine("                                          ours   PyTorch  TorchSharp   ours/PyTorch  ours/TorchSharp   GFLOP/s  % nominal  % FMA loop  5x needs  allocated/step");
foreach (var r in trainRows)
    Console.WriteLine($"  lenet5 batch {r.Batch,3}, {r.Threads} thread{(r.Threads > 1 ? "s" : " ")}     {r.Ours,8:N0}  {Fmt(r.Torch, "N0"),8}  {Fmt(r.TorchSharp, "N0"),10}  {Fmt(r.VsTorch, "F2"),12}x  {Fmt(r.VsTorchSharp, "F2"),14}x  {r.Ours * flopsPerImage / 1e9,8:F1}  {r.Ours * flopsPerImage / 1e9 / (peakPerCore * r.Threads) * 100,8:F1}%  {r.Ours * flopsPerImage / 1e9 / fmaRate[r.Threads] * 100,9:F1}%  {Fmt(r.Torch * 5 * flopsPerImage / 1e9 / fmaRate[r.Threads] * 100, "F0"),7}%  {r.AllocPerStep,10:N0} B");

// ---------- inference: ours vs ONNX Runtime ----------
var model = ModelFile.Load(Path.Combine(FindRepo(), "models", "lenet5.lenet"));
string onnxPath = Path.Combine(Path.GetTempPath(), $"lenet-bench-{Environment.ProcessId}.onnx");
OnnxExport.Save(model, onnxPath);
var inferRows = new List<(int Threads, double Ours, double Ort, double OursLatency, double OrtLatency, double Ratio, double LatencyRatio)>();
foreach (int threads in threadCounts)
{
    using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
    using var session = new InferenceSession(onnxPath, options);
    const int batch = 256;
    var images = test.Images.AsSpan(0, batch * 784).ToArray();
    var probabilities = new float[batch * 10];
    var input = new DenseTensor<float>([batch, 1, 28, 28]);
    for (int i = 0; i < images.Length; i++) input.Buffer.Span[i] = images[i];
    var single = new DenseTensor<float>([1, 1, 28, 28]);
    for (int i = 0; i < 784; i++) single.Buffer.Span[i] = images[i];
    var inputs = new[] { NamedOnnxValue.CreateFromTensor("image", input) };
    var singleInputs = new[] { NamedOnnxValue.CreateFromTensor("image", single) };
    int reps = quick ? 30 : 100;
    var ours = new List<double>(); var ort = new List<double>(); var oursOne = new List<double>(); var ortOne = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        ours.Add(batch / Median(Time(reps, () => model.Predict(images, batch, probabilities, threads))));
        ort.Add(batch / Median(Time(reps, () => { using var _ = session.Run(inputs); })));
        oursOne.Add(Median(Time(reps * 5, () => model.Predict(images.AsSpan(0, 784), 1, probabilities, 1))));
        ortOne.Add(Median(Time(reps * 5, () => { using var _ = session.Run(singleInputs); })));
    }
    // Paired by round, as for training.
    var ratio = Median(ours.Zip(ort, (a, b) => a / b).ToList());
    var latencyRatio = Median(ortOne.Zip(oursOne, (a, b) => a / b).ToList());
    inferRows.Add((threads, Median(ours), Median(ort), Median(oursOne), Median(ortOne), ratio, latencyRatio));
}
File.Delete(onnxPath);
Console.WriteLine();
Console.WriteLine("Inference                                 ours      ONNX Runtime   ours/ORT");
foreach (var r in inferRows)
{
    Console.WriteLine($"  batch 256, {r.Threads} thread{(r.Threads > 1 ? "s" : " ")} (images/s)         {r.Ours,8:N0}  {r.Ort,12:N0}   {r.Ratio,7:F2}x");
    Console.WriteLine($"  one image, {r.Threads} thread{(r.Threads > 1 ? "s" : " ")} (latency, µs)        {r.OursLatency * 1e6,8:F1}  {r.OrtLatency * 1e6,12:F1}   {r.LatencyRatio,7:F2}x");
}

// ---------- time to 99% (full mode) ----------
double? secondsTo99 = null;
if (!quick)
{
    Console.WriteLine();
    Console.WriteLine("Time to 99.0% test accuracy, lenet5 with --fast's recipe (full MNIST, test set checked after each epoch)...");
    var full = MnistDataset.Load(dataDir, train: true);
    var options = TrainingOptions.Fast(Architectures.LeNet5);
    var trainer = new Trainer(options, full, test);
    var clock = Stopwatch.StartNew();
    using var stop = new CancellationTokenSource();
    trainer.EpochCompleted = e =>
    {
        Console.WriteLine($"  epoch {e.Epoch}: {e.TestAccuracy * 100:F2}% at {clock.Elapsed.TotalSeconds:F1} s");
        if (e.TestAccuracy >= 0.99 && secondsTo99 is null) { secondsTo99 = clock.Elapsed.TotalSeconds; stop.Cancel(); }
    };
    trainer.Run(stop.Token);
    Console.WriteLine(secondsTo99 is null ? "  did not reach 99.0%" : $"  reached 99.0% after {secondsTo99:F1} s");
}

var best = trainRows.First(r => r.Batch == 64 && r.Threads == threadCounts[^1]);
var bestInfer = inferRows.First(r => r.Threads == threadCounts[^1]);
var summary = new JsonObject
{
    ["trainSpeedupVsPyTorch"] = best.VsTorch is null ? null : Math.Round(best.VsTorch.Value, 3),
    ["trainSpeedupVsTorchSharp"] = best.VsTorchSharp is null ? null : Math.Round(best.VsTorchSharp.Value, 3),
    ["inferSpeedupVsOnnxRuntime"] = Math.Round(bestInfer.Ratio, 3),
    ["trainImagesPerSec"] = Math.Round(best.Ours),
    ["gflops"] = Math.Round(best.Ours * flopsPerImage / 1e9, 2),
};
if (secondsTo99 is not null) summary["secondsTo99"] = Math.Round(secondsTo99.Value, 1);
summary["kernels"] = Simd.Width.ToString();
summary["rows"] = new JsonArray(trainRows.Select(r => (JsonNode)new JsonObject
{
    ["batch"] = r.Batch, ["threads"] = r.Threads, ["ours"] = Math.Round(r.Ours), ["pyTorch"] = r.Torch is null ? null : Math.Round(r.Torch.Value),
    ["ratio"] = r.VsTorch is null ? null : Math.Round(r.VsTorch.Value, 3),
    ["fmaLoopShare"] = Math.Round(r.Ours * flopsPerImage / 1e9 / fmaRate[r.Threads], 3),
    ["fiveTimesNeeds"] = r.Torch is null ? null : Math.Round(r.Torch.Value * 5 * flopsPerImage / 1e9 / fmaRate[r.Threads], 3),
}).ToArray());

if (isa == "all")
{
    // Every other instruction set this machine has, each in a child process; native is the widest.
    var sets = new JsonObject();
    var widest = Simd.Best == SimdWidth.V512 ? "avx512" : Simd.Best == SimdWidth.V256 ? "avx2" : "v128";
    sets[widest] = IsaEntry(summary);
    foreach (var (name, switches) in isaSwitches)
    {
        if (name == widest || (name == "avx512" && Simd.Best < SimdWidth.V512) || (name == "avx2" && Simd.Best < SimdWidth.V256)) continue;
        Console.WriteLine();
        Console.WriteLine($"---------- {name}: ours with {string.Join(" ", switches.Ours)}, PyTorch with {string.Join(" ", switches.Torch)} ----------");
        var child = RunChild(name, switches.Ours, quick);
        if (child is not null) sets[name] = IsaEntry(child);
    }
    summary["isa"] = sets;
    Console.WriteLine();
    Console.WriteLine("Per instruction set (training lenet5 against PyTorch limited to the same set; inference against ONNX Runtime at its best)");
    Console.WriteLine("  set      kernels  batch threads      ours   PyTorch   ratio  % FMA loop  5x needs");
    foreach (var (name, node) in sets)
        foreach (var row in (JsonArray)node!["rows"]!)
            Console.WriteLine($"  {name,-8} {(string?)node["kernels"],-7} {(int)row!["batch"]!,6} {(int)row["threads"]!,7} {(double)row["ours"]!,9:N0} {(double?)row["pyTorch"],9:N0} {(double?)row["ratio"],6:F2}x {(double?)row["fmaLoopShare"] * 100,10:F0}% {(double?)row["fiveTimesNeeds"] * 100,8:F0}%");
    foreach (var (_, node) in sets) ((JsonObject)node!).Remove("rows");
}
if (!args.Contains("--child")) { summary.Remove("rows"); summary.Remove("kernels"); }   // a child reports them to its parent
Console.WriteLine();
Console.WriteLine(summary.ToJsonString());
return 0;

static JsonObject IsaEntry(JsonObject s) => new()
{
    ["trainSpeedupVsPyTorch"] = s["trainSpeedupVsPyTorch"]?.DeepClone(),
    ["trainImagesPerSec"] = s["trainImagesPerSec"]?.DeepClone(),
    ["inferSpeedupVsOnnxRuntime"] = s["inferSpeedupVsOnnxRuntime"]?.DeepClone(),
    ["kernels"] = s["kernels"]?.DeepClone(),
    ["rows"] = s["rows"]?.DeepClone(),
};

// Runs this benchmark again in a child process with the runtime's switches for one instruction set;
// its output is shown as it comes, and its last line (JSON) returned.
static JsonObject? RunChild(string isa, string[] switches, bool quick)
{
    string program = Environment.ProcessPath!;
    var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(program) == "dotnet") psi.ArgumentList.Add(typeof(TrainingPeer).Assembly.Location);
    foreach (var a in Environment.GetCommandLineArgs().Skip(1).Where(a => a != "--quick" && a != "--child")) psi.ArgumentList.Add(a);
    int at = psi.ArgumentList.IndexOf("--isa");
    if (at >= 0) { psi.ArgumentList.RemoveAt(at); if (at < psi.ArgumentList.Count) psi.ArgumentList.RemoveAt(at); }
    foreach (var a in new[] { "--isa", isa, "--child", "--no-torchsharp" }) psi.ArgumentList.Add(a);
    if (quick) psi.ArgumentList.Add("--quick");
    foreach (var e in switches) psi.Environment[e[..e.IndexOf('=')]] = e[(e.IndexOf('=') + 1)..];
    using var p = Process.Start(psi)!;
    string? line, last = null;
    while ((line = p.StandardOutput.ReadLine()) is not null)
    {
        if (line.StartsWith('{')) last = line; else Console.WriteLine("  " + line);
    }
    p.WaitForExit();
    try { return last is null ? null : JsonNode.Parse(last) as JsonObject; }
    catch (JsonException) { return null; }
}

// ---------- helpers ----------
// Per-layer forward and backward time on one thread, to see where a step goes.
static void LayerTimes(ArchitectureSpec spec, int n)
{
    var net = Architectures.Build(spec);
    net.Initialize(1);
    var ws = net.CreateWorkspace(n);
    var rng = new Random(1);
    for (int i = 0; i < ws.Input.Length; i++) ws.Input[i] = rng.NextSingle() * 2 - 0.5f;
    net.Forward(ws, n);
    for (int i = 0; i < ws.OutputGradient.Length; i++) ws.OutputGradient[i] = rng.NextSingle() - 0.5f;
    net.Backward(ws, n);
    // A second of whole passes first, so tiered compilation has promoted every method on the path
    // (200 calls of a small layer take a few milliseconds, less than the JIT's tiering delay).
    var warm = Stopwatch.StartNew();
    while (warm.Elapsed.TotalSeconds < 1) { net.Forward(ws, n); net.Backward(ws, n); }
    Thread.Sleep(200);
    var p = net.Parameters;
    Console.WriteLine($"{spec.Name}, batch {n}, 1 thread: microseconds per batch (median of 200)");
    double total = 0;
    for (int i = 0; i < net.Layers.Count; i++)
    {
        var l = net.Layers[i];
        var lp = p.AsMemory(l.ParameterOffset, l.ParameterCount);
        var f = Time(200, () => l.Forward(lp.Span, ws.Activations[i], ws.Activations[i + 1], n, ws.Scratch[i], ws.Mode));
        var b = Time(200, () => l.Backward(lp.Span, ws.Activations[i], ws.Activations[i + 1], ws.Gradients[i + 1], i > 0 ? ws.Gradients[i] : Span<float>.Empty,
            ws.ParameterGradients.AsSpan(l.ParameterOffset, l.ParameterCount), n, ws.Scratch[i]));
        total += Median(f) + Median(b);
        Console.WriteLine($"  {l.Name,-8} {l.Kind,-12} forward {Median(f) * 1e6,9:F1}   backward {Median(b) * 1e6,9:F1}");
    }
    Console.WriteLine($"  total {total * 1e6:F0} µs = {n / total:N0} images/s");
}

string? Arg(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static string FindRepo() => TrainingPeer.FindRepoRoot();

static string FindData() => Path.Combine(FindRepo(), "data", "mnist");

static double Median(IReadOnlyList<double> v)
{
    var s = v.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

static string Fmt(double? v, string format) => v is null ? "—" : v.Value.ToString(format);

static List<double> Time(int reps, Action action)
{
    for (int i = 0; i < Math.Max(3, reps / 10); i++) action();
    var times = new List<double>(reps);
    for (int i = 0; i < reps; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
    }
    return times;
}

// Times training steps of our engine through the real Trainer: one epoch over (warmup + steps)
// batches, each step's end stamped by the StepCompleted callback.
static (List<double> StepSeconds, double BytesPerStep) OurTrainingSteps(ArchitectureSpec spec, MnistDataset train, MnistDataset test, int batch, int threads, int steps, int warmup)
{
    var options = TrainingOptions.For(spec.Name) with { Architecture = spec, BatchSize = batch, Threads = threads, Epochs = 1, Limit = (steps + warmup) * batch };
    var trainer = new Trainer(options, train.Take(options.Limit), test.Take(1));
    var stamps = new long[steps + warmup + 1];
    long allocStart = 0, allocEnd = 0;
    int k = 0;
    stamps[0] = Stopwatch.GetTimestamp();
    trainer.StepCompleted = _ =>
    {
        stamps[++k] = Stopwatch.GetTimestamp();
        if (k == warmup) allocStart = GC.GetTotalAllocatedBytes(precise: true);
        if (k == steps + warmup) allocEnd = GC.GetTotalAllocatedBytes(precise: true);
    };
    trainer.Run();
    var seconds = new List<double>();
    for (int i = warmup + 1; i <= steps + warmup; i++) seconds.Add(Stopwatch.GetElapsedTime(stamps[i - 1], stamps[i]).TotalSeconds);
    return (seconds, (allocEnd - allocStart) / (double)steps);
}

// Multiply-adds of the convolution and dense layers; a training step costs about three forward
// passes (forward, input gradient, weight gradient), 2 FLOP per multiply-add.
static double TrainingFlopsPerImage(Network network)
{
    double macs = 0;
    foreach (var l in network.Layers)
        if (l is LeNet.Layers.Conv2d or LeNet.Layers.Dense) macs += l.Connections - l.OutputShape.Size;  // connections count the bias once per output
    return macs * 2 * 3;
}

// FP32 peak of one core = clock × FLOP per cycle. FLOP per cycle assumes two FMA units per core at the
// widest vector width in use (AVX-512: 2 × 16 lanes × 2 = 64; AVX2: 32); the clock is the nominal
// one reported by /proc/cpuinfo (turbo raises the real rate: see FmaGflops).
static (double Gflops, string How) PeakGflops()
{
    double mhz = 0;
    try
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("cpu MHz"));
        if (line is not null) mhz = double.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
    }
    catch (IOException) { }
    if (mhz <= 0) mhz = 3000;
    int lanes = Simd.Width == SimdWidth.V512 ? 16 : Simd.Width == SimdWidth.V256 ? 8 : Simd.Width == SimdWidth.V128 ? 4 : 1;
    int flopPerCycle = 2 * lanes * 2;
    return (mhz * 1e-3 * flopPerCycle, $"{mhz / 1000:F2} GHz × {flopPerCycle} FLOP/cycle: 2 FMA units × {lanes} lanes × 2");
}

// What the cores really do: twelve independent chains of FMAs at the kernels' width (enough to cover the FMA
// latency; sixteen of multiply-then-add without FMA) on each of `threads` threads at once, the best of
// five tries of about 100 ms, in GFLOP/s.
static double FmaGflops(int threads) => Simd.Width switch
{
    SimdWidth.V512 => FmaGflopsAt<Lanes512>(threads),
    SimdWidth.V256 => FmaGflopsAt<Lanes256>(threads),
    SimdWidth.V128 => FmaGflopsAt<Lanes128>(threads),
    _ => double.NaN,
};

// Without FMA (x64 below AVX2) a multiply-add is a multiply then an add, twice the latency: twelve
// chains would measure that latency, not the two multiply and two add units, so it runs sixteen.
static double FmaGflopsAt<V>(int threads) where V : struct, IVector<V>
{
    bool fused = System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
    int chains = fused ? 12 : 16;
    Action<long> run = fused ? i => Chains<V>(i) : i => Chains16<V>(i);
    run(1000);
    var calibrate = Stopwatch.StartNew();
    run(200_000);
    long iterations = (long)(200_000 * 0.1 / Math.Max(1e-6, calibrate.Elapsed.TotalSeconds));
    double best = 0;
    for (int attempt = 0; attempt < 5; attempt++)
    {
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() => run(iterations))).ToList();
        var clock = Stopwatch.StartNew();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        best = Math.Max(best, threads * iterations * (double)chains * V.Count * 2 / clock.Elapsed.TotalSeconds / 1e9);
    }
    return best;
}

[MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
static V Chains16<V>(long iterations) where V : struct, IVector<V>
{
    var x = V.Create(0.999f);
    var y = V.Create(1e-6f);
    V a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y, a12 = y, a13 = y, a14 = y, a15 = y;
    for (long i = 0; i < iterations; i++)
    {
        a0 = V.MultiplyAdd(a0, x, y); a1 = V.MultiplyAdd(a1, x, y); a2 = V.MultiplyAdd(a2, x, y); a3 = V.MultiplyAdd(a3, x, y);
        a4 = V.MultiplyAdd(a4, x, y); a5 = V.MultiplyAdd(a5, x, y); a6 = V.MultiplyAdd(a6, x, y); a7 = V.MultiplyAdd(a7, x, y);
        a8 = V.MultiplyAdd(a8, x, y); a9 = V.MultiplyAdd(a9, x, y); a10 = V.MultiplyAdd(a10, x, y); a11 = V.MultiplyAdd(a11, x, y);
        a12 = V.MultiplyAdd(a12, x, y); a13 = V.MultiplyAdd(a13, x, y); a14 = V.MultiplyAdd(a14, x, y); a15 = V.MultiplyAdd(a15, x, y);
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
}

// No calls inside the loop: a call would make the JIT keep the chains on the stack.
[MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
static V Chains<V>(long iterations) where V : struct, IVector<V>
{
    var x = V.Create(0.999f);
    var y = V.Create(1e-6f);
    V a0 = y, a1 = y, a2 = y, a3 = y, a4 = y, a5 = y, a6 = y, a7 = y, a8 = y, a9 = y, a10 = y, a11 = y;
    for (long i = 0; i < iterations; i++)
    {
        a0 = V.MultiplyAdd(a0, x, y); a1 = V.MultiplyAdd(a1, x, y); a2 = V.MultiplyAdd(a2, x, y);
        a3 = V.MultiplyAdd(a3, x, y); a4 = V.MultiplyAdd(a4, x, y); a5 = V.MultiplyAdd(a5, x, y);
        a6 = V.MultiplyAdd(a6, x, y); a7 = V.MultiplyAdd(a7, x, y); a8 = V.MultiplyAdd(a8, x, y);
        a9 = V.MultiplyAdd(a9, x, y); a10 = V.MultiplyAdd(a10, x, y); a11 = V.MultiplyAdd(a11, x, y);
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
}

// A training peer in a child process, driven over stdin/stdout: the PyTorch script or the TorchSharp
// program (bench/torchsharp-peer). Both answer "train BATCH THREADS STEPS WARMUP" with the seconds of
// each timed step.
sealed class TrainingPeer : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _errors = new();
    public string Version { get; }

    TrainingPeer(Process p, string version, StringBuilder errors) { _process = p; Version = version; _errors = errors; }

    public static TrainingPeer? Start(string name, string program, IEnumerable<string> arguments, out string why, string[]? environment = null)
    {
        why = "";
        if (!File.Exists(program)) { why = $"{program} not found"; return null; }
        var psi = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "2";
        foreach (var e in environment ?? []) psi.Environment[e[..e.IndexOf('=')]] = e[(e.IndexOf('=') + 1)..];
        var p = Process.Start(psi)!;
        var errors = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var line = p.StandardOutput.ReadLine();
        JsonNode? json = null;
        try { json = line is null ? null : JsonNode.Parse(line); } catch (JsonException) { }
        if (json?["ready"] is null)
        {
            p.WaitForExit(5000);
            lock (errors) why = $"{name} did not start: {LastLine(errors.ToString()) ?? line ?? "no output"}";
            if (!p.HasExited) p.Kill();
            p.Dispose();
            return null;
        }
        return new TrainingPeer(p, (string?)json["torch"] ?? "?", errors);
    }

    // Builds bench/torchsharp-peer (restoring TorchSharp and libtorch, about 500 MB, on first use) and starts it.
    public static TrainingPeer? StartTorchSharp(string dataDir, out string why)
    {
        string project = Path.Combine(FindRepoRoot(), "bench", "torchsharp-peer");
        string output = Path.Combine(project, "bin", "peer");
        string? dotnet = FindDotnet();
        if (dotnet is null) { why = "the dotnet command was not found"; return null; }
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", project, "-c", "Release", "-o", output, "--nologo", "-v", "q" }) psi.ArgumentList.Add(a);
        Console.WriteLine("TorchSharp: building bench/torchsharp-peer...");
        using (var build = Process.Start(psi)!)
        {
            var stdout = build.StandardOutput.ReadToEndAsync();
            var stderr = build.StandardError.ReadToEndAsync();
            build.WaitForExit();
            if (build.ExitCode != 0)
            {
                why = $"building it failed: {LastLine(stdout.Result + stderr.Result) ?? "exit " + build.ExitCode}";
                return null;
            }
        }
        return Start("TorchSharp", dotnet, [Path.Combine(output, "TorchSharpPeer.dll"), dataDir], out why) is { } peer ? peer : null;
    }

    public List<double>? Train(int batch, int threads, int steps, int warmup)
    {
        _process.StandardInput.WriteLine($"train {batch} {threads} {steps} {warmup}");
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine();
        if (line is null) return null;
        return JsonNode.Parse(line)!["stepSeconds"]!.AsArray().Select(v => (double)v!).ToList();
    }

    static string? FindDotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") return Environment.ProcessPath;
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append(Environment.GetEnvironmentVariable("DOTNET_ROOT") ?? "");
        return dirs.Where(d => d.Length > 0).Select(d => Path.Combine(d, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet")).FirstOrDefault(File.Exists);
    }

    static string? LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)) ??
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();

    public static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "LeNet.slnx"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }

    public void Dispose()
    {
        try { _process.StandardInput.WriteLine("quit"); _process.WaitForExit(5000); } catch (IOException) { }
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
