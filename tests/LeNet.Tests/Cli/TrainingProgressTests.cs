// The live training display at the widths terminals have: every finished epoch stays on screen as
// one whole line, and the live bar never wraps.
using LeNet.Cli;
using LeNet.Training;
using Xunit;

namespace LeNet.Tests.Cli;

public class TrainingProgressTests
{
    static readonly EpochResult Epoch3 = new(3, 2814, 0.04321, 0.98765, 0.03456, 0.99012, 0.00123f, 7.5, 2.4);

    [Theory]
    [InlineData(60)]
    [InlineData(80)]
    [InlineData(120)]
    public void A_run_leaves_one_whole_line_per_epoch_and_a_bar_that_fits(int width)
    {
        var output = new StringWriter();
        var progress = new TrainingProgress(output, () => width, trainCount: 60_000);
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            for (int step = 1; step <= 938; step += 37)
                progress.Step(new StepProgress(epoch, 3, step, 938, 0.1 / epoch, 0.9, 25_000, 0.002f));
            progress.Step(new StepProgress(epoch, 3, 938, 938, 0.1 / epoch, 0.9, 25_000, 0.002f));
            progress.Epoch(Epoch3 with { Epoch = epoch }, 3);
        }
        string text = output.ToString();
        // What stays on screen: each line's last redraw (after its last carriage return).
        var screen = text.Split('\n').Select(l => l[(l.LastIndexOf('\r') + 1)..].TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Equal(["epoch 1/3", "epoch 2/3", "epoch 3/3"], screen.Select(l => l[..9]));
        Assert.All(screen, l => Assert.Contains("test acc 99.01%", l));
        // Nothing written, live bar or epoch line, reaches the last column.
        Assert.All(text.Split('\n', '\r'), piece => Assert.True(piece.Length <= width - 1, $"{piece.Length} columns: '{piece}'"));
    }

    [Theory]
    [InlineData(60, false)]
    [InlineData(80, true)]
    [InlineData(120, true)]
    public void The_bar_keeps_the_step_loss_and_time_left_and_adds_speed_when_there_is_room(int width, bool speed)
    {
        var bar = TrainingProgress.Bar(new StepProgress(2, 12, 469, 938, 0.0567, 0.98, 31_234, 0.002f), 3.2, 65, width);
        Assert.True(bar.Length <= width - 1);
        Assert.StartsWith(width >= 80 ? "epoch 2/12 [" : "2/12 [", bar);
        Assert.Contains(" 469/938", bar);
        Assert.Contains("loss 0.0567", bar);
        Assert.Contains("ETA 3s", bar);
        Assert.Contains("(run 1m05s)", bar);
        Assert.Equal(speed, bar.Contains("31,234 img/s"));
        // Half the steps done: half the bar filled.
        int open = bar.IndexOf('['), close = bar.IndexOf(']');
        Assert.InRange(bar[(open + 1)..close].Count(c => c == '=') * 2, close - open - 3, close - open);
    }

    [Fact]
    public void Epoch_lines_drop_the_least_useful_figures_first()
    {
        string wide = TrainingProgress.EpochLine(Epoch3, 12, 25_000, 200);
        Assert.Equal("epoch 3/12  loss 0.0432  acc 98.77%  test loss 0.0346  test acc 99.01%  lr 0.00123  25,000 img/s  2.4 s", wide);
        string narrow = TrainingProgress.EpochLine(Epoch3, 12, 25_000, 60);
        Assert.Equal("epoch 3/12  loss 0.0432  acc 98.77%  test acc 99.01%  2.4 s", narrow);
    }

    [Theory]
    [InlineData(42.4, "42s")]
    [InlineData(185, "3m05s")]
    [InlineData(3720, "1h02m")]
    [InlineData(double.NaN, "?")]
    public void Times_left_read_as_people_write_them(double seconds, string text) => Assert.Equal(text, TrainingProgress.Duration(seconds));

    [Fact]
    public void The_header_wraps_after_commas()
    {
        string header = "Training lenet5 on 60,000 images: 12 epochs, batch 64, adam lr 0.002 (onecycle), seed 1, 2 threads, V512 kernels";
        var lines = TrainingProgress.Wrap(header, 60).Split(Environment.NewLine);
        Assert.True(lines.Length >= 2);
        Assert.All(lines, l => Assert.True(l.Length <= 59, l));
        Assert.Equal(header, string.Join(" ", lines.Select(l => l.Trim())));
    }
}
