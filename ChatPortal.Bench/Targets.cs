namespace ChatPortal.Bench;

/// <summary>The targets of issue 5, each judged against the push mode's figure at every level.</summary>
public static class Targets
{
    /// <summary>
    /// Below this, the commands left in the steady window after the idle background are noise of the background
    /// estimate (a heartbeat more or less over a few thousand chunks), not a per-chunk cost (polling: 0.1).
    /// </summary>
    public const double PerChunkNoise = 0.01;

    public static IReadOnlyList<Target> All { get; } =
    [
        new("Redis commands per answer, coordination (node-reported) ≤ 6", "every level",
            r => r.Coordination?.CommandsPerAnswer, v => v <= 6, 1),
        new("Redis commands per answer, all in (INFO commandstats) ≤ 15", "every level",
            r => r.CommandsPerAnswer, v => v <= 15, 1),
        new("Redis commands per chunk = 0 (steady window, idle background out; < 0.01 counts as 0)", "every level",
            r => r.CommandsPerChunk, v => v < PerChunkNoise, 3),
        new("Cross-node cancel confirmed by the first request = 100 %", "300 streams",
            r => r.FirstAttemptSuccess * 100, v => v >= 100, 1),
        new("Cross-node cancel, click → stream ended, p50 ≤ 5 ms", "300 streams",
            r => r.CancelLatencyMs?.P50, v => v <= 5, 1),
        new("Cross-node cancel, click → stream ended, p99 ≤ 25 ms", "300 streams",
            r => r.CancelLatencyMs?.P99, v => v <= 25, 1),
        new("Node CPU per answer, push ÷ in-memory ≤ 1.05×", "every level",
            null, v => v <= 1.05, 2),
    ];

    public static (string Figure, bool? Pass) Judge(Target target, BenchReport report, CoordinationMode mode, int streams)
    {
        var value = target.Measure is null
            ? Figure.Divide(report.Find(mode, streams)?.CpuMsPerAnswer, report.Find(CoordinationMode.InMemory, streams)?.CpuMsPerAnswer)
            : report.Find(mode, streams) is { } result ? target.Measure(result) : null;
        return value is { } v ? (Figure.Number(v, target.Decimals), target.Meets(v)) : (Figure.NotMeasured, null);
    }

    /// <summary>Target | stated at | push at each level (figure and verdict) | polling, for reference.</summary>
    public static TextTable Table(BenchReport report)
    {
        var levels = report.Levels;
        var table = new TextTable(["target", "stated at", .. levels.Select(l => $"push @ {l}"), $"polling @ {report.CancelTargetLevel}"]);
        foreach (var target in All)
        {
            var cells = levels.Select(l => Judge(target, report, CoordinationMode.Push, l)).Select(j => j.Pass is null ? j.Figure : $"{j.Figure} {Figure.Verdict(j.Pass)}");
            var polling = Judge(target, report, CoordinationMode.Polling, report.CancelTargetLevel).Figure;
            table.Add([target.Name, target.StatedAt, .. cells, polling]);
        }

        return table;
    }
}

/// <param name="Measure">The figure of a level; null for the CPU ratio, which needs two modes.</param>
public sealed record Target(string Name, string StatedAt, Func<LevelResult, double?>? Measure, Func<double, bool> Meets, int Decimals);
