// A training checkpoint: the model file format (ModelFile, kind Checkpoint) holding the parameters,
// the optimizer's state arrays and, in its metadata, the options and where the run stood, so that a
// resumed run continues bit for bit where it stopped.
using System.Text.Json.Nodes;
using LeNet.Models;

namespace LeNet.Training;

/// <summary>Where a run stood: completed epochs and steps of the current one, its running sums, the history so far.</summary>
public sealed record TrainingState(int Epoch, int StepInEpoch, long OptimizerSteps, double LossSum, long Correct, long Seen, double Seconds,
    IReadOnlyList<EpochResult> History);

public static class Checkpoint
{
    /// <summary>Writes a checkpoint atomically (temporary file, then rename).</summary>
    public static void Save(string path, Network network, Optimizer optimizer, JsonObject metadata, Dictionary<string, float[]>? extra, TrainingState state)
    {
        var history = new JsonArray();
        foreach (var e in state.History)
            history.Add(new JsonObject
            {
                ["epoch"] = e.Epoch, ["step"] = e.Step, ["trainLoss"] = e.TrainLoss, ["trainAccuracy"] = e.TrainAccuracy,
                ["testLoss"] = e.TestLoss, ["testAccuracy"] = e.TestAccuracy, ["lr"] = e.LearningRate, ["seconds"] = e.Seconds,
                ["epochSeconds"] = e.EpochSeconds,
            });
        metadata["checkpoint"] = new JsonObject
        {
            ["epoch"] = state.Epoch, ["stepInEpoch"] = state.StepInEpoch, ["optimizerSteps"] = state.OptimizerSteps,
            ["lossSum"] = state.LossSum, ["correct"] = state.Correct, ["seen"] = state.Seen,
            ["seconds"] = state.Seconds, ["history"] = history,
        };
        var sections = new Dictionary<string, float[]> { ["parameters"] = network.Parameters };
        foreach (var (key, values) in optimizer.State) sections["optimizer/" + key] = values;
        if (extra is not null) foreach (var (key, values) in extra) sections[key] = values;
        ModelFile.Write(path, new ModelFileContents { Kind = ModelFileKind.Checkpoint, Architecture = network.Spec, Metadata = metadata, Sections = sections });
    }

    /// <summary>The saved options, parameters and state of a checkpoint file, checked.</summary>
    public static (TrainingOptions Options, ModelFileContents Contents, TrainingState State) Read(string path)
    {
        var c = ModelFile.Read(path);
        string name = Path.GetFileName(path);
        if (c.Kind != ModelFileKind.Checkpoint || c.Metadata["checkpoint"] is not JsonObject state)
            throw new InvalidModelFileException($"{name} is a model, not a training checkpoint; pass the .ckpt file written during training.");
        try
        {
            var options = TrainingOptions.FromJson(c.Metadata["options"] as JsonObject ?? throw new FormatException("no options"), c.Architecture);
            var history = new List<EpochResult>();
            foreach (var e in state["history"] as JsonArray ?? throw new FormatException("no history"))
            {
                var o = e as JsonObject ?? throw new FormatException("a history entry is not an object");
                history.Add(new EpochResult((int)o["epoch"]!, (long)o["step"]!, (double)o["trainLoss"]!, (double)o["trainAccuracy"]!,
                    (double)o["testLoss"]!, (double)o["testAccuracy"]!, (float)o["lr"]!, (double)o["seconds"]!, (double)o["epochSeconds"]!));
            }
            var s = new TrainingState((int)state["epoch"]!, (int)state["stepInEpoch"]!, (long)state["optimizerSteps"]!, (double)state["lossSum"]!,
                (long)state["correct"]!, (long)state["seen"]!, (double)state["seconds"]!, history);
            if (s.Epoch < 0 || s.Epoch > options.Epochs || s.StepInEpoch < 0 || s.OptimizerSteps < 0 || s.Seen < 0)
                throw new FormatException($"epoch {s.Epoch}, step {s.StepInEpoch} is not a place in a run of {options.Epochs} epochs");
            return (options, c, s);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or InvalidCastException or NullReferenceException or OverflowException or ArgumentException)
        {
            throw new InvalidModelFileException($"{name}: the checkpoint's training state is damaged ({e.Message}).");
        }
    }
}
