// `lenet train`: trains an architecture on MNIST (or another MNIST-format folder) with a live
// progress bar on a terminal and one line per epoch otherwise; saves the model and a checkpoint
// after every epoch; Ctrl+C saves a checkpoint and exits; --resume continues it exactly.
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using LeNet.Data;
using LeNet.Layers;
using LeNet.Models;
using LeNet.Training;

namespace LeNet.Cli.Commands;

public static class TrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = $"Architecture: {string.Join(", ", Architectures.Names)}, or {Architectures.Best} ({Architectures.Resolve(Architectures.Best)}, with elastic distortions by default).", DefaultValueFactory = _ => Architectures.LeNet5, HelpName = "NAME" };
        arch.AcceptOnlyFromAmong([.. Architectures.Names, Architectures.Best]);
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the training set. Default: 12 (lenet5, cnn-wide), 20 (lenet5-1998, as in the paper).", HelpName = "N" };
        var batch = new Option<int?>("--batch") { Description = "Mini-batch size. Default: 64 (lenet5), 32 (lenet5-1998), 128 (cnn-wide).", HelpName = "N" };
        var optimizer = new Option<string?>("--optimizer") { Description = "sgd (momentum 0.9), adam or rmsprop. Default: adam.", HelpName = "NAME" };
        optimizer.AcceptOnlyFromAmong([.. Optimizer.Names]);
        var lr = new Option<float?>("--lr") { Description = "Learning rate (the peak rate with onecycle). Default: 0.002 (lenet5, cnn-deep), 0.004 (cnn-bn), 0.001 (lenet5-1998, cnn-wide).", HelpName = "X" };
        var schedule = new Option<string?>("--schedule") { Description = "Learning-rate schedule: none, step (×0.1 at 50% and 75%), onecycle (warm-up then cosine decay). Default: onecycle.", HelpName = "NAME" };
        schedule.AcceptOnlyFromAmong("none", "step", "onecycle");
        var activation = new Option<string?>("--activation") { Description = "lenet5 only: relu (default), tanh or sigmoid.", HelpName = "NAME" };
        activation.AcceptOnlyFromAmong("relu", "tanh", "sigmoid");
        var pooling = new Option<string?>("--pooling") { Description = "lenet5 only: max (default) or average.", HelpName = "NAME" };
        pooling.AcceptOnlyFromAmong("max", "average");
        var seed = new Option<ulong>("--seed") { Description = "Random seed for weights and shuffling; a run is reproducible for a given seed (lenet5 and lenet5-1998: whatever --threads).", DefaultValueFactory = _ => 1, HelpName = "N" };
        var threads = new Option<int?>("--threads") { Description = $"Worker threads. Default: all cores ({Environment.ProcessorCount}).", HelpName = "N" };
        var limit = new Option<int>("--limit") { Description = "Train on the first N training images only (quick runs). Default: all.", HelpName = "N" };
        var holdout = new Option<int>("--holdout") { Description = "Keep the last N training images out of training and report accuracy on them instead of the test set, to choose settings without looking at the test set. Default: 0.", HelpName = "N" };
        var augment = new Option<bool>("--augment") { Description = "Distort each training image at random as it is used (translation, scaling, squeezing, shearing), as in the 1998 paper." };
        var elastic = new Option<bool>("--elastic")
        {
            Description = $"Also distort each image elastically (Simard et al. 2003): a random displacement field smoothed by a Gaussian. Turns on --augment. Strength and smoothness: --elastic-alpha (default {ElasticField.DefaultAlpha}) and --elastic-sigma (default {ElasticField.DefaultSigma}).",
        };
        var elasticAlpha = new Option<float?>("--elastic-alpha") { Description = $"Elastic distortions' strength α in pixels (0 to 200; implies --elastic). Default: {ElasticField.DefaultAlpha}.", HelpName = "A" };
        var elasticSigma = new Option<float?>("--elastic-sigma") { Description = $"Elastic distortions' smoothness σ in pixels, the width of the Gaussian (0.5 to 14; implies --elastic). Default: {ElasticField.DefaultSigma}.", HelpName = "S" };
        var decay = new Option<float?>("--weight-decay") { Description = "adam only: decoupled weight decay λ (AdamW); each step also takes lr·λ of every weight away (0 to below 1). Default: 0.", HelpName = "L" };
        var smoothing = new Option<float?>("--label-smoothing") { Description = "Softmax networks: train towards 1 − X on the right class and X/10 on every class instead of one-hot labels (0 to below 1). Default: 0 (0.1 with --fast).", HelpName = "X" };
        var ema = new Option<float?>("--ema")
        {
            Description = "Keep an exponential moving average of the weights with this decay per step (0 to below 1; 0.999 averages about the last thousand steps), and test and save the average instead of the last weights. Default: 0 (none).",
            HelpName = "D",
        };
        var data = Cli.DataOption();
        var output = new Option<string?>("--out") { Description = "Model file to write (after every epoch). Default: <arch>.lenet in the current folder.", HelpName = "FILE" };
        var log = new Option<string?>("--log") { Description = "Append metrics to a CSV file: epoch, step, train loss/acc, test loss/acc, lr, seconds.", HelpName = "FILE.csv" };
        var report = new Option<string?>("--report") { Description = "Write a report with pictures to this folder when training ends (see lenet report).", HelpName = "DIR" };
        var fast = new Option<bool>("--fast") { Description = "lenet5 only: a short recipe that reaches 99.0% test accuracy (5 epochs of batch 64 at peak lr 0.016 with label smoothing 0.1, about 3–4 s on 2 cores) instead of the defaults (12 epochs of batch 64). Options given explicitly still apply." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run saved in a checkpoint (.ckpt) exactly where it stopped.", HelpName = "FILE" };

        var cmd = new Command("train", "Train a network on MNIST and report its test accuracy.")
        {
            arch, fast, epochs, batch, optimizer, lr, schedule, activation, pooling, seed, threads, limit, holdout, augment, elastic, elasticAlpha, elasticSigma, smoothing, decay, ema, data, output, log, report, resume,
        };
        cmd.SetAction(r =>
        {
            string? dataDir = r.GetValue(data);
            var train = MnistDataset.LoadOrEmbedded(dataDir, train: true);
            var test = MnistDataset.LoadOrEmbedded(dataDir, train: false);
            string? resumePath = r.GetValue(resume);
            Trainer trainer;
            string outPath;
            if (resumePath is not null)
            {
                if (r.GetValue(fast)) throw new LeNetException("--fast chooses the settings of a new run; a resumed run keeps the settings in its checkpoint.");
                outPath = r.GetValue(output) ?? Path.ChangeExtension(resumePath, ModelFile.Extension);
                trainer = Trainer.Resume(resumePath, train, test, r.GetValue(threads));
            }
            else
            {
                string a = Architectures.Resolve(r.GetValue(arch)!);
                var d = r.GetValue(fast) ? TrainingOptions.Fast(a) : TrainingOptions.For(a);
                var spec = d.Architecture;
                if (r.GetValue(activation) is { } act)
                {
                    if (a != Architectures.LeNet5) throw new LeNetException("--activation applies to lenet5 only.");
                    spec = spec with { Activation = act switch { "tanh" => Activation.Tanh, "sigmoid" => Activation.Sigmoid, _ => Activation.Relu } };
                }
                if (r.GetValue(pooling) is { } pool)
                {
                    if (a != Architectures.LeNet5) throw new LeNetException("--pooling applies to lenet5 only.");
                    spec = spec with { Pooling = pool == "average" ? PoolingKind.Average : PoolingKind.Max };
                }
                bool elasticOn = r.GetValue(elastic) || r.GetValue(elasticAlpha) is not null || r.GetValue(elasticSigma) is not null;
                var options = d with
                {
                    Architecture = spec,
                    Epochs = r.GetValue(epochs) ?? d.Epochs,
                    BatchSize = r.GetValue(batch) ?? d.BatchSize,
                    Optimizer = r.GetValue(optimizer) ?? d.Optimizer,
                    LearningRate = r.GetValue(lr) ?? d.LearningRate,
                    Schedule = r.GetValue(schedule) is { } s ? Schedule.Parse(s) : d.Schedule,
                    Seed = r.GetValue(seed),
                    Threads = r.GetValue(threads) ?? d.Threads,
                    Limit = r.GetValue(limit),
                    Holdout = r.GetValue(holdout),
                    Augment = d.Augment || r.GetValue(augment) || elasticOn,
                    ElasticAlpha = r.GetValue(elasticAlpha) ?? (d.ElasticAlpha > 0 ? d.ElasticAlpha : elasticOn ? ElasticField.DefaultAlpha : 0),
                    ElasticSigma = r.GetValue(elasticSigma) ?? d.ElasticSigma,
                    LabelSmoothing = r.GetValue(smoothing) ?? d.LabelSmoothing,
                    WeightDecay = r.GetValue(decay) ?? d.WeightDecay,
                    Ema = r.GetValue(ema) ?? d.Ema,
                };
                outPath = r.GetValue(output) ?? a + ModelFile.Extension;
                trainer = new Trainer(options, train, test);
            }
            trainer.ModelPath = outPath;
            trainer.CheckpointPath = CheckpointPath(outPath);
            string? reportDir = r.GetValue(report);
            // The report's training curves need a metrics log: without --log, one is kept in the report folder.
            trainer.LogPath = r.GetValue(log) ?? (reportDir is null ? null : Path.Combine(Directory.CreateDirectory(reportDir).FullName, "training-log.csv"));
            if (r.GetValue(log) is null && trainer.LogPath is not null && File.Exists(trainer.LogPath) && resumePath is null) File.Delete(trainer.LogPath);
            int code = Run(trainer, outPath);
            if (code != Cli.Ok || reportDir is null) return code;
            ReportCommand.Write(new Reports.ReportOptions { ModelPath = outPath, LogPath = trainer.LogPath, OutDir = reportDir, TestSet = test });
            return code;
        });
        return cmd;
    }

    /// <summary>The checkpoint written beside a model: lenet5.lenet → lenet5.ckpt.</summary>
    public static string CheckpointPath(string modelPath) => Path.ChangeExtension(modelPath, ".ckpt");

    static int Run(Trainer trainer, string outPath)
    {
        var o = trainer.Options;
        string ckpt = trainer.CheckpointPath!;
        string header = $"Training {o.Architecture} on {trainer.TrainCount:N0} images: {o.Epochs} epochs, batch {o.BatchSize}, " +
            $"{o.Optimizer} lr {o.LearningRate.ToString(CultureInfo.InvariantCulture)} ({Schedule.Name(o.Schedule)}), seed {o.Seed}, {o.Threads} thread{(o.Threads == 1 ? "" : "s")}, {Network.KernelWidth} kernels" + (o.Augment ? o.ElasticAlpha > 0 ? $", distortions on (elastic α {o.ElasticAlpha.ToString(CultureInfo.InvariantCulture)} σ {o.ElasticSigma.ToString(CultureInfo.InvariantCulture)})" : ", distortions on" : "") +
            (o.LabelSmoothing > 0 ? $", label smoothing {o.LabelSmoothing.ToString(CultureInfo.InvariantCulture)}" : "") +
            (o.WeightDecay > 0 ? $", weight decay {o.WeightDecay.ToString(CultureInfo.InvariantCulture)}" : "") +
            (o.Ema > 0 ? $", weight average {o.Ema.ToString(CultureInfo.InvariantCulture)}" : "") +
            (trainer.CompletedEpochs > 0 ? $"; resuming after epoch {trainer.CompletedEpochs}" : "");
        Console.WriteLine(Cli.Interactive ? TrainingProgress.Wrap(header, TrainingProgress.TerminalWidth()) : header);

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl+C ends the process
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        TrainingResult result;
        try
        {
            result = Cli.Interactive ? RunWithProgressBar(trainer, cts.Token) : RunPlain(trainer, cts.Token);
        }
        finally { Console.CancelKeyPress -= onCancel; }

        if (result.Interrupted)
        {
            Console.WriteLine($"Interrupted. Checkpoint saved to {ckpt}; continue with: lenet train --resume {ckpt}");
            return Cli.Interrupted;
        }
        var last = result.History[^1];
        Console.WriteLine($"{(o.Holdout > 0 ? $"Held-out accuracy ({o.Holdout:N0} training images)" : "Test accuracy")}{(o.Ema > 0 ? " of the weight average" : "")}: {last.TestAccuracy * 100:F2}% (loss {last.TestLoss:F4}) after {last.Epoch} epochs in {last.Seconds:F1} s");
        if (result.LastWeightsEvaluation is { } w)
            Console.WriteLine($"The last weights themselves: {w.Accuracy * 100:F2}% (loss {w.Loss:F4})");
        Console.WriteLine($"Model saved to {outPath}");
        return Cli.Ok;
    }

    static string EpochLine(EpochResult e, int epochs, double imagesPerSecond, bool holdout) =>
        $"epoch {e.Epoch}/{epochs}  loss {e.TrainLoss:F4}  acc {e.TrainAccuracy * 100:F2}%  {(holdout ? "held-out" : "test")} loss {e.TestLoss:F4}  {(holdout ? "held-out" : "test")} acc {e.TestAccuracy * 100:F2}%  " +
        $"lr {e.LearningRate:G3}  {imagesPerSecond:N0} img/s  {e.EpochSeconds:F1} s";

    static TrainingResult RunPlain(Trainer trainer, CancellationToken cancel)
    {
        trainer.EpochCompleted = e => Console.WriteLine(EpochLine(e, trainer.Options.Epochs, trainer.TrainCount / Math.Max(1e-9, e.EpochSeconds), trainer.Options.Holdout > 0));
        return trainer.Run(cancel);
    }

    static TrainingResult RunWithProgressBar(Trainer trainer, CancellationToken cancel)
    {
        var progress = new TrainingProgress(Console.Out, TrainingProgress.TerminalWidth, trainer.TrainCount, trainer.Options.Holdout > 0);
        trainer.StepCompleted = progress.Step;
        trainer.EpochCompleted = e => progress.Epoch(e, trainer.Options.Epochs);
        var result = trainer.Run(cancel);
        if (result.Interrupted) progress.Clear();
        return result;
    }
}
