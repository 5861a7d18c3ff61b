// The `lenet` command end to end: each test runs the built tool as a separate process on small data.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace LeNet.Tests.Cli;

public class CliTests
{
    static readonly string Work = TestPaths.NewTempDirectory();

    static (int Code, string Out, string Err) Lenet(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Work };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "LeNet.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("lenet " + string.Join(' ', args)); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    static void NoStackTrace(string text) => Assert.DoesNotContain("   at ", text);

    [Fact]
    public void Train_writes_model_checkpoint_and_log_and_reports_test_accuracy()
    {
        var (code, stdout, stderr) = Lenet("train", "--data", TestPaths.SmallMnist, "--epochs", "1", "--limit", "1000", "--batch", "32",
            "--out", "small.lenet", "--log", "small.csv");
        Assert.True(code == 0, stderr);
        Assert.Contains("Test accuracy:", stdout);
        Assert.Contains("epoch 1/1", stdout);
        Assert.True(File.Exists(Path.Combine(Work, "small.lenet")));
        Assert.True(File.Exists(Path.Combine(Work, "small.ckpt")));
        Assert.StartsWith("epoch,step,", File.ReadAllText(Path.Combine(Work, "small.csv")));
    }

    [Fact]
    public void Selfcheck_checks_every_kernel_at_every_width_and_reports_json()
    {
        var (code, stdout, stderr) = Lenet("selfcheck", "--json");
        Assert.True(code == 0, stderr + stdout);
        var json = JsonNode.Parse(stdout)!;
        Assert.True((bool)json["passed"]!);
        var widths = ((JsonArray)json["checks"]!).Select(c => (string)c!["width"]!).Distinct().ToList();
        Assert.Contains("Scalar", widths);
        Assert.Contains((string)json["kernels"]!, widths);
        NoStackTrace(stderr);
    }

    [Fact]
    public void Predict_uses_the_built_in_lenet5_unless_told_otherwise()
    {
        var digit = Path.Combine(Work, "seven.png");
        var pixels = LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: false).Image(0).ToArray();
        File.WriteAllBytes(digit, LeNet.Data.DigitImages.ToPng(pixels.Select(p => (byte)(255 - p)).ToArray(), 4));
        var (code, stdout, stderr) = Lenet("predict", digit, "--top", "1");
        Assert.True(code == 0, stderr);
        var (code1998, stdout1998, stderr1998) = Lenet("predict", "--model", "lenet5-1998", digit, "--top", "1", "--json");
        Assert.True(code1998 == 0, stderr1998);
        Assert.Equal((int)JsonNode.Parse(stdout1998)![0]!["digit"]!, int.Parse(stdout.Split(':')[1].Trim()[..1]));
    }

    [Theory]
    [InlineData("serve --urls notaurl", "--urls takes http:// or https:// addresses")]
    [InlineData("train --epochs abc", "--epochs takes a whole number (got 'abc')")]
    [InlineData("train --lr fast", "--lr takes a number (got 'fast')")]
    [InlineData("train --batch 0", "--batch must be between 1 and 65536 (got 0)")]
    [InlineData("train --epochs", "--epochs needs a value.")]
    [InlineData("predict", "lenet predict needs its IMAGE_OR_DIR argument.")]
    public void Bad_options_get_one_plain_error_line(string command, string message)
    {
        var (code, stdout, stderr) = Lenet(command.Split(' '));
        Assert.NotEqual(0, code);
        Assert.Contains("error: " + message, stderr);
        Assert.DoesNotContain("System.", stderr);
        NoStackTrace(stderr + stdout);
    }

    [Fact]
    public void Bare_lenet_prints_help_under_its_installed_name()
    {
        var (code, stdout, stderr) = Lenet();
        Assert.Equal(0, code);
        Assert.Contains("lenet [command] [options]", stdout);
        Assert.DoesNotContain("LeNet.Cli", stdout);
        foreach (var command in new[] { "train", "eval", "predict", "summary", "export", "report", "serve" }) Assert.Contains(command, stdout);
        Assert.Equal("", stderr);
        var (_, predictHelp, _) = Lenet("predict", "--help");
        Assert.Contains("lenet predict <IMAGE_OR_DIR>...", predictHelp);
        var (versionCode, version, _) = Lenet("-v");
        Assert.Equal(0, versionCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version);
    }

    [Theory]
    [InlineData("trian", "Did you mean 'train'?")]
    [InlineData("prdict x.png", "Did you mean 'predict'?")]
    [InlineData("train --epoch 3", "Did you mean '--epochs'?")]
    [InlineData("train --agument", "Did you mean '--augment'?")]
    public void A_mistyped_word_gets_one_error_and_a_suggestion(string command, string suggestion)
    {
        var (code, stdout, stderr) = Lenet(command.Split(' '));
        Assert.Equal(2, code);
        var lines = stderr.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("error: Unrecognized command or argument", lines[0]);
        Assert.Equal(suggestion, lines[1]);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Nothing_is_suggested_for_a_word_unlike_any_option() =>
        Assert.Null(LeNet.Cli.Cli.DidYouMean("Unrecognized command or argument 'banana'.", new System.CommandLine.Command("train") { new System.CommandLine.Option<int>("--epochs") }));

    [Theory]
    [InlineData("report --out /proc/lenet-report --data MNIST --model MODEL")]
    [InlineData("report --out MODEL/sub --data MNIST --model MODEL")]
    [InlineData("export MODEL --onnx /proc/lenet.onnx")]
    [InlineData("eval --model MODEL --data MNIST --wrong /proc/wrong")]
    public void Unwritable_output_paths_get_one_error_line(string command)
    {
        var args = command.Replace("MNIST", TestPaths.SmallMnist).Replace("MODEL", TestPaths.PretrainedModel).Split(' ');
        var (code, stdout, stderr) = Lenet(args);
        Assert.Equal(1, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: "));
        NoStackTrace(stderr + stdout);
    }

    [Theory]
    [InlineData("export MODEL --onnx", "--onnx needs a path")]
    [InlineData("report --model MODEL --out", "--out needs a path")]
    [InlineData("eval --model MODEL --wrong", "--wrong needs a path")]
    public void Empty_paths_are_refused(string command, string message)
    {
        var args = command.Replace("MODEL", TestPaths.PretrainedModel).Split(' ').Append("").ToArray();
        var (code, _, stderr) = Lenet(args);
        Assert.Equal(2, code);
        Assert.Contains("error: " + message, stderr);
    }

    [Fact]
    public void Train_fast_uses_its_recipe_and_lets_explicit_options_override_it()
    {
        var (code, stdout, stderr) = Lenet("train", "--fast", "--epochs", "1", "--data", TestPaths.SmallMnist, "--limit", "256", "--out", "fast.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("1 epochs, batch 64, adam lr 0.016 (onecycle)", stdout);
        Assert.Contains("label smoothing 0.1", stdout);
        (code, stdout, stderr) = Lenet("train", "--fast", "--epochs", "1", "--label-smoothing", "0", "--data", TestPaths.SmallMnist, "--limit", "256", "--out", "fast.lenet");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("label smoothing", stdout);
    }

    [Fact]
    public void Train_elastic_turns_on_distortions_and_checks_its_values()
    {
        var (code, stdout, stderr) = Lenet("train", "--elastic-sigma", "6", "--epochs", "1", "--data", TestPaths.SmallMnist, "--limit", "256", "--out", "elastic.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("distortions on (elastic α 34 σ 6)", stdout);
        var options = LeNet.Models.ModelFile.Read(Path.Combine(Work, "elastic.lenet")).Metadata["options"]!;
        Assert.True((bool)options["augment"]!);
        Assert.Equal(34f, (float)options["elasticAlpha"]!);
        (code, _, stderr) = Lenet("train", "--elastic-alpha", "500", "--epochs", "1", "--data", TestPaths.SmallMnist, "--limit", "256", "--out", "elastic.lenet");
        Assert.Equal(1, code);
        Assert.Contains("error: --elastic-alpha must be between 0 and 200 pixels (got 500)", stderr);
    }

    [Fact]
    public void Train_holdout_evaluates_on_held_out_training_images_and_best_is_cnn_bn()
    {
        var (code, stdout, stderr) = Lenet("train", "--holdout", "200", "--fast", "--epochs", "1", "--data", TestPaths.SmallMnist, "--out", "held.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("held-out acc", stdout);
        Assert.Contains("Held-out accuracy (200 training images):", stdout);
        Assert.Equal(200, (int)LeNet.Models.ModelFile.Read(Path.Combine(Work, "held.lenet")).Metadata["options"]!["holdout"]!);
        (code, _, stderr) = Lenet("train", "--holdout", "100000", "--data", TestPaths.SmallMnist);
        Assert.Equal(1, code);
        Assert.Contains("error: --holdout must leave training images", stderr);
        // `best` is cnn-bn with its recipe: elastic distortions on.
        (code, stdout, stderr) = Lenet("train", "--arch", "best", "--epochs", "1", "--limit", "64", "--batch", "32", "--data", TestPaths.SmallMnist, "--out", "best.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("Training cnn-bn on 64 images", stdout);
        Assert.Contains("elastic α 36 σ 6", stdout);
    }

    [Fact]
    public void Train_ema_tests_and_saves_the_weight_average_and_scores_the_last_weights_too()
    {
        var (code, stdout, stderr) = Lenet("train", "--fast", "--epochs", "1", "--limit", "640", "--ema", "0.9", "--data", TestPaths.SmallMnist, "--out", "ema.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("weight average 0.9", stdout);
        Assert.Contains("Test accuracy of the weight average: ", stdout);
        Assert.Contains("The last weights themselves: ", stdout);
        Assert.Equal(0.9f, (float)LeNet.Models.ModelFile.Read(Path.Combine(Work, "ema.lenet")).Metadata["options"]!["ema"]!, 6);
        (code, _, stderr) = Lenet("train", "--ema", "1", "--data", TestPaths.SmallMnist);
        Assert.Equal(1, code);
        Assert.Contains("error: --ema is a decay per step", stderr);
    }

    [Fact]
    public void Ensemble_joins_models_into_a_committee_that_eval_and_predict_take()
    {
        var (code, stdout, stderr) = Lenet("ensemble", "lenet5", "lenet5-1998", "--data", TestPaths.SmallMnist, "--out", "pair.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("lenet5: ", stdout);
        Assert.Contains("Committee of 2: ", stdout);
        (code, stdout, stderr) = Lenet("eval", "--model", "pair.lenet", "--data", TestPaths.SmallMnist, "--json");
        Assert.True(code == 0, stderr);
        Assert.Contains("\"accuracy\"", stdout);
        var digit = Path.Combine(Work, "pair-seven.png");
        var pixels = LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: false).Image(0).ToArray();
        File.WriteAllBytes(digit, LeNet.Data.DigitImages.ToPng(pixels.Select(p => (byte)(255 - p)).ToArray(), 4));
        (code, stdout, stderr) = Lenet("predict", digit, "--model", "pair.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains(": 7 (", stdout);
        (code, _, stderr) = Lenet("ensemble", "lenet5", "pair.lenet", "--data", TestPaths.SmallMnist, "--out", "nested.lenet");
        Assert.Equal(1, code);
        Assert.Contains("error: A committee's members are single models", stderr);
        NoStackTrace(stderr);
    }

    [Fact]
    public void Eval_and_ensemble_with_holdout_score_the_last_training_images_not_the_test_set()
    {
        var (code, stdout, stderr) = Lenet("eval", "--model", TestPaths.PretrainedModel, "--data", TestPaths.SmallMnist, "--holdout", "700", "--json");
        Assert.True(code == 0, stderr);
        var json = JsonNode.Parse(stdout)!.AsObject();
        var train = LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: true);
        var expected = LeNet.Training.Evaluator.Evaluate(LeNet.Models.ModelFile.Load(TestPaths.PretrainedModel), train.Skip(train.Count - 700));
        Assert.Equal(700, (int)json["count"]!);
        Assert.Equal(expected.Accuracy, (double)json["accuracy"]!, 5);
        (code, stdout, _) = Lenet("eval", "--model", TestPaths.PretrainedModel, "--data", TestPaths.SmallMnist, "--holdout", "700");
        Assert.Equal(0, code);
        Assert.StartsWith("Held-out accuracy", stdout);

        (code, stdout, stderr) = Lenet("ensemble", "lenet5", "lenet5-1998", "--data", TestPaths.SmallMnist, "--holdout", "700", "--out", "held.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("on 700 held-out images", stdout);
        var metadata = LeNet.Models.ModelFile.Read(Path.Combine(Work, "held.lenet")).Metadata;
        Assert.NotNull(metadata["heldOutAccuracy"]);
        Assert.Null(metadata["testAccuracy"]);   // a held-out score is never shown as a test score

        foreach (var (value, message) in new[] { ("-1", "--holdout must not be negative"), ("3000", "--holdout must be below the 3,000 training images") })
        {
            (code, _, stderr) = Lenet("eval", "--data", TestPaths.SmallMnist, "--holdout", value);
            Assert.Equal(1, code);
            Assert.Contains(message, stderr);
            NoStackTrace(stderr);
        }
    }

    [Fact]
    public void Train_resume_of_a_finished_run_reports_its_result()
    {
        Assert.Equal(0, Lenet("train", "--data", TestPaths.SmallMnist, "--epochs", "1", "--limit", "300", "--out", "r.lenet").Code);
        var (code, stdout, stderr) = Lenet("train", "--data", TestPaths.SmallMnist, "--resume", "r.ckpt");
        Assert.True(code == 0, stderr);
        Assert.Contains("Test accuracy:", stdout);
    }

    [Fact]
    public void Eval_json_has_accuracy_loss_per_class_and_confusion_and_saves_the_wrong_digits()
    {
        var (code, stdout, stderr) = Lenet("eval", "--model", TestPaths.PretrainedModel, "--data", TestPaths.SmallMnist, "--json", "--wrong", "wrong");
        Assert.True(code == 0, stderr);
        var json = JsonNode.Parse(stdout)!.AsObject();
        double accuracy = (double)json["accuracy"]!;
        Assert.InRange(accuracy, 0.97, 1.0);
        Assert.True((double)json["loss"]! > 0);
        Assert.Equal(10, json["perClass"]!.AsArray().Count);
        var confusion = json["confusion"]!.AsArray();
        int total = confusion.Sum(r => r!.AsArray().Sum(v => (int)v!));
        int right = Enumerable.Range(0, 10).Sum(i => (int)confusion[i]![i]!);
        Assert.Equal(500, total);
        var saved = Directory.GetFiles(Path.Combine(Work, "wrong"), "*.png", SearchOption.AllDirectories);
        Assert.Equal(total - right, saved.Length);
        Assert.All(saved, f => Assert.Matches(@"[/\\]\d[/\\]\d_\d+\.png$", f));
    }

    [Fact]
    public void Train_with_report_writes_the_report_with_training_curves()
    {
        var (code, stdout, stderr) = Lenet("train", "--data", TestPaths.SmallMnist, "--epochs", "2", "--limit", "640", "--out", "rep.lenet", "--report", "rep");
        Assert.True(code == 0, stderr);
        Assert.Contains("Report written to", stdout);
        Assert.True(File.Exists(Path.Combine(Work, "rep", "index.html")));
        Assert.True(File.Exists(Path.Combine(Work, "rep", "training-accuracy.png")));
        Assert.True(File.Exists(Path.Combine(Work, "rep", "kernels-conv1.png")));
    }

    [Fact]
    public void Report_with_a_missing_model_or_a_bad_image_fails_with_a_message()
    {
        var (code, _, stderr) = Lenet("report", "--model", "nope.lenet", "--out", "r1");
        Assert.Equal(1, code);
        Assert.Contains("nope.lenet", stderr);
        NoStackTrace(stderr);
        File.WriteAllText(Path.Combine(Work, "text.png"), "not an image");
        (code, _, stderr) = Lenet("report", "--model", TestPaths.PretrainedModel, "--data", TestPaths.SmallMnist, "--image", "text.png", "--out", "r2");
        Assert.Equal(1, code);
        Assert.Contains("text.png", stderr);
        NoStackTrace(stderr);
        // Without --model: the built-in lenet5.
        (code, _, stderr) = Lenet("report", "--data", TestPaths.SmallMnist, "--out", "r3");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(Work, "r3", "index.html")));
    }

    [Fact]
    public void Eval_prints_a_confusion_table()
    {
        var (code, stdout, _) = Lenet("eval", "--model", TestPaths.PretrainedModel, "--data", TestPaths.SmallMnist);
        Assert.Equal(0, code);
        Assert.Contains("Test accuracy", stdout);
        Assert.Contains("Confusion matrix", stdout);
    }

    [Fact]
    public void Predict_reads_good_images_reports_bad_ones_by_name_and_exits_non_zero()
    {
        var dir = Path.Combine(Work, "images");
        Directory.CreateDirectory(dir);
        var test = LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: false);
        File.WriteAllBytes(Path.Combine(dir, "a.png"), LeNet.Data.DigitImages.ToPng(test.Image(0), 8));
        File.WriteAllText(Path.Combine(dir, "b.png"), "not an image");
        var (code, stdout, stderr) = Lenet("predict", "--model", TestPaths.PretrainedModel, dir, "--json");
        Assert.Equal(1, code);
        NoStackTrace(stderr);
        var results = JsonNode.Parse(stdout)!.AsArray();
        Assert.Equal(2, results.Count);
        Assert.Equal(test.Labels[0], (int)results[0]!["digit"]!);
        Assert.Equal(10, results[0]!["probabilities"]!.AsArray().Count);
        Assert.Contains("not an image", (string)results[1]!["error"]!);

        var (code2, text, _) = Lenet("predict", "--model", TestPaths.PretrainedModel, Path.Combine(dir, "a.png"), "--top", "2");
        Assert.Equal(0, code2);
        Assert.Matches(@"a\.png: \d \(\d+\.\d%\)  \d \(\d+\.\d%\)", text);
    }

    [Fact]
    public void Predict_reads_a_number_and_says_where_each_digit_is()
    {
        var photos = new LeNet.PhotoLab.Conditions(LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: false), fonts: []);
        var sample = photos.One(LeNet.PhotoLab.Condition.Number, 1);
        var file = Path.Combine(Work, "number.jpg");
        File.WriteAllBytes(file, sample.Bytes);

        var (code, text, stderr) = Lenet("predict", file);
        Assert.True(code == 0, stderr);
        Assert.Matches($@"number\.jpg: {sample.Label}  \((\d \d+\.\d%( unsure)?(, )?){{{sample.Label.Length}}}\)", text);

        var (_, json, _) = Lenet("predict", file, "--json");
        var r = JsonNode.Parse(json)![0]!;
        Assert.Equal(sample.Label, (string)r["number"]!);
        Assert.Equal(sample.Label[0] - '0', (int)r["digit"]!);
        var digits = r["digits"]!.AsArray();
        Assert.Equal(sample.Label.Length, digits.Count);
        Assert.All(digits, d => Assert.Equal(4, d!["box"]!.AsArray().Count));
        Assert.Equal(10, digits[0]!["probabilities"]!.AsArray().Count);
        Assert.NotNull(r["uncertain"]);

        var (_, one, _) = Lenet("predict", file, "--single", "--top", "1");
        Assert.Matches(@"number\.jpg: \d \(\d+\.\d%, unsure\)  unsure: ink unlike a digit", one);
    }

    [Fact]
    public void Summary_json_has_layers_and_totals()
    {
        var (code, stdout, _) = Lenet("summary", "lenet5", "--json");
        Assert.Equal(0, code);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(61_706, (int)json["parameters"]!);
        Assert.Equal(7, json["layers"]!.AsArray().Count);
        Assert.Equal("conv1", (string)json["layers"]![0]!["name"]!);
        Assert.NotNull(json["connections"]);
        var (code2, table, _) = Lenet("summary", TestPaths.PretrainedModel);
        Assert.Equal(0, code2);
        Assert.Contains("61,706", table);
    }

    [Fact]
    public void Bad_input_gives_one_clear_error_and_a_non_zero_exit()
    {
        File.WriteAllText(Path.Combine(Work, "fake.lenet"), "hello");
        foreach (var (args, expect) in new (string[], string)[]
        {
            (["eval", "--model", "fake.lenet"], "not a LeNet model file"),
            (["eval", "--model", "missing.lenet"], "not found"),
            (["train", "--arch", "lenet7"], "lenet7"),
            (["train", "--epochs", "0", "--data", TestPaths.SmallMnist], "--epochs"),
            (["train", "--data", "/nonexistent"], "/nonexistent"),
            (["summary", "resnet"], "resnet"),
            (["train", "--fast", "--arch", "cnn-wide", "--data", TestPaths.SmallMnist], "--fast"),
            (["predict", "--model", TestPaths.PretrainedModel, "nothing.png"], "nothing.png"),
        })
        {
            var (code, stdout, stderr) = Lenet(args);
            Assert.NotEqual(0, code);
            Assert.Contains(expect, stderr);
            NoStackTrace(stderr + stdout);
        }
    }

    [Fact]
    public void The_1998_network_trains_evaluates_predicts_and_summarises()
    {
        var (code, stdout, stderr) = Lenet("train", "--arch", "lenet5-1998", "--data", TestPaths.SmallMnist, "--epochs", "2", "--limit", "3000", "--out", "classic.lenet");
        Assert.True(code == 0, stderr);
        Assert.Contains("lenet5-1998", stdout);
        var eval = JsonNode.Parse(Lenet("eval", "--model", "classic.lenet", "--data", TestPaths.SmallMnist, "--json").Out)!;
        Assert.True((double)eval["accuracy"]! > 0.5, eval.ToJsonString());
        var test = LeNet.Data.MnistDataset.Load(TestPaths.SmallMnist, train: false);
        File.WriteAllBytes(Path.Combine(Work, "c0.png"), LeNet.Data.DigitImages.ToPng(test.Image(0), 4));
        var predict = Lenet("predict", "--model", "classic.lenet", "c0.png", "--json");
        Assert.Equal(0, predict.Code);
        Assert.Equal(10, JsonNode.Parse(predict.Out)![0]!["probabilities"]!.AsArray().Count);
        var summary = JsonNode.Parse(Lenet("summary", "lenet5-1998", "--json").Out)!;
        Assert.Equal(60_000, (int)summary["parameters"]!);
        Assert.Equal(340_908, (long)summary["connections"]!);
        Assert.Equal(840, (int)summary["fixedParameters"]!);
        Assert.Contains("RBF centres", Lenet("summary", "classic.lenet").Out);
    }

    [Fact]
    public void Help_lists_every_command()
    {
        var (code, stdout, _) = Lenet("--help");
        Assert.Equal(0, code);
        foreach (var c in new[] { "train", "eval", "predict", "summary" }) Assert.Contains(c, stdout);
    }
}
