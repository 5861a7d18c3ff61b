// Learning-rate schedules as pure functions of the step, so resuming at any step gives the same rate.
namespace LeNet.Training;

public enum ScheduleKind { None, Step, OneCycle }

public static class Schedule
{
    public static ScheduleKind Parse(string name) => name switch
    {
        "none" => ScheduleKind.None,
        "step" => ScheduleKind.Step,
        "onecycle" => ScheduleKind.OneCycle,
        _ => throw new LeNetException($"Unknown schedule '{name}'. Choose one of: none, step, onecycle."),
    };

    public static string Name(ScheduleKind kind) => kind switch
    {
        ScheduleKind.Step => "step",
        ScheduleKind.OneCycle => "onecycle",
        _ => "none",
    };

    /// <summary>
    /// Rate for step (0-based) of totalSteps. step: ×0.1 after 50% and again after 75% of the steps.
    /// onecycle (Smith 2018, PyTorch's defaults): cosine rise from lr/25 to lr over the first 30%,
    /// then cosine fall to lr/25/10⁴.
    /// </summary>
    public static float Rate(ScheduleKind kind, float lr, long step, long totalSteps)
    {
        double t = totalSteps <= 1 ? 1 : (double)step / (totalSteps - 1);
        switch (kind)
        {
            case ScheduleKind.Step:
                return t < 0.5 ? lr : t < 0.75 ? lr * 0.1f : lr * 0.01f;
            case ScheduleKind.OneCycle:
                const double warm = 0.3;
                double start = lr / 25.0, end = start / 1e4;
                if (t < warm) return (float)Cosine(start, lr, t / warm);
                return (float)Cosine(lr, end, (t - warm) / (1 - warm));
            default:
                return lr;
        }
    }

    static double Cosine(double from, double to, double t) => to + (from - to) * (1 + Math.Cos(Math.PI * t)) / 2;
}
