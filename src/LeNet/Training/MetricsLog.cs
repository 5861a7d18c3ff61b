// The CSV metrics log of a training run, written by the trainer and read by the reports: a row every
// 100 steps (train loss and accuracy so far in the epoch) and a row per epoch (with test loss and
// accuracy). One format, one header, defined here.
using System.Globalization;

namespace LeNet.Training;

public sealed record MetricsRow(int Epoch, long Step, double TrainLoss, double TrainAccuracy, double? TestLoss, double? TestAccuracy, double LearningRate, double Seconds)
{
    public bool IsEpochEnd => TestAccuracy is not null;
}

public sealed class MetricsLog
{
    public const string Header = "epoch,step,train_loss,train_acc,test_loss,test_acc,lr,seconds";

    public MetricsLog(IReadOnlyList<MetricsRow> rows) => Rows = rows;

    public IReadOnlyList<MetricsRow> Rows { get; }
    public IEnumerable<MetricsRow> Epochs => Rows.Where(r => r.IsEpochEnd);

    /// <summary>Steps per epoch, from the first epoch-end row (0 when there is none).</summary>
    public double StepsPerEpoch => Epochs.FirstOrDefault() is { } first ? (double)first.Step / first.Epoch : 0;

    /// <summary>A row's position in epochs (fractional for the rows inside an epoch).</summary>
    public double EpochOf(MetricsRow r) => StepsPerEpoch > 0 ? r.Step / StepsPerEpoch : r.Epoch;

    /// <summary>Starts a log at path with its header, unless a log is already there (a resumed run appends).</summary>
    public static void Begin(string path)
    {
        if (!File.Exists(path)) File.WriteAllText(path, Header + "\n");
    }

    /// <summary>Appends one row to the log at path.</summary>
    public static void Append(string path, MetricsRow r)
    {
        static string F(double? v) => v is { } x ? x.ToString("G6", CultureInfo.InvariantCulture) : "";
        File.AppendAllText(path, string.Join(",", r.Epoch.ToString(CultureInfo.InvariantCulture), r.Step.ToString(CultureInfo.InvariantCulture),
            F(r.TrainLoss), F(r.TrainAccuracy), F(r.TestLoss), F(r.TestAccuracy), F(r.LearningRate), r.Seconds.ToString("F2", CultureInfo.InvariantCulture)) + "\n");
    }

    public static MetricsLog Read(string path)
    {
        if (!File.Exists(path)) throw new LeNetException($"{path}: metrics log not found.");
        var lines = File.ReadAllLines(path);
        string name = Path.GetFileName(path);
        if (lines.Length == 0 || lines[0].Trim() != Header)
            throw new InvalidDataFileException($"{name} is not a training metrics log (its first line should be '{Header}').");
        var rows = new List<MetricsRow>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]) || lines[i] == Header) continue;  // a resumed run appends a header-less continuation
            var f = lines[i].Split(',');
            try
            {
                if (f.Length != 8) throw new FormatException($"{f.Length} fields instead of 8");
                rows.Add(new MetricsRow(int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
                    D(f[2]), D(f[3]), N(f[4]), N(f[5]), D(f[6]), D(f[7])));
            }
            catch (FormatException e)
            {
                throw new InvalidDataFileException($"{name}, line {i + 1}: not a metrics row ({e.Message}).");
            }
        }
        if (rows.Count == 0) throw new InvalidDataFileException($"{name} holds no metrics rows.");
        return new MetricsLog(rows);

        static double D(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        static double? N(string s) => s.Length == 0 ? null : D(s);
    }
}
