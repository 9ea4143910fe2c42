namespace ChatPortal.Bench;

/// <summary>The targets, each judged against the push mode's figure at the levels where it is stated.</summary>
public static class Targets
{
    /// <summary>
    /// Below this, the commands left in the steady window after the idle background are noise of the background
    /// estimate (a heartbeat more or less over a few thousand chunks), not a per-chunk cost (polling: 0.1).
    /// </summary>
    public const double PerChunkNoise = 0.01;

    /// <summary>The level the CPU target is stated at.</summary>
    public const int CpuTargetStreams = 100;

    private static bool Every(int streams) => true;

    private static bool FromHundred(int streams) => streams >= 100;

    private static bool AtCpuLevel(int streams) => streams == CpuTargetStreams;

    private static bool AtCancelLevel(int streams) => streams == BenchReport.CancelTargetStreams;

    public static IReadOnlyList<Target> All { get; } =
    [
        new("Database transactions per answer, answer path (node-reported, lease renewals and title writes out) ≤ 2 (start, end)", "every level",
            r => r.AnswerPathDbTransactionsPerAnswer, v => v <= 2, 2, Every,
            "a Stop is recorded in the database too (the cancelled share of answers pays for it), or the idle estimate is off at a low level"),
        new("Database transactions per chunk = 0 (steady window; lease renewals in; < 0.01 counts as 0)", "every level",
            r => r.DbTransactionsPerChunk, v => v < PerChunkNoise, 4, Every,
            "a write per chunk on the answer path"),
        new("Redis commands per answer, all in (INFO commandstats) ≤ 6", "≥ 100 streams",
            r => r.CommandsPerAnswer, v => v <= 6, 1, FromHundred,
            "heartbeats and other idle background shared by too few answers, or a command on the answer path beyond the two SPUBLISHes (sharded PUBLISH)"),
        new("Redis commands per chunk = 0 (steady window, idle background out; < 0.01 counts as 0)", "every level",
            r => r.CommandsPerChunk, v => v < PerChunkNoise, 3, Every,
            "a Redis command per chunk"),
        new("Cluster CPU per answer (nodes + Redis + PostgreSQL) ÷ one node alone on SQLite ≤ 1.15×", "100 streams",
            null, v => v <= 1.15, 2, AtCpuLevel,
            "the cluster's own work per answer (PostgreSQL round trips and backends, Redis, heartbeats) on a machine shared with others"),
        new("Cross-node cancel confirmed by the first request = 100 %", "300 streams",
            r => r.FirstAttemptSuccess * 100, v => v >= 100, 1, AtCancelLevel,
            "the owner did not confirm the Stop within 2 s"),
        new("Cross-node Stop, click → stream ended, p50 ≤ 5 ms", "300 streams",
            r => r.CancelLatencyMs?.P50, v => v <= 5, 1, AtCancelLevel,
            "the Stop's database write and Redis push queue behind streaming work on 2 shared cores"),
        new("Cross-node Stop, click → stream ended, p99 ≤ 25 ms", "300 streams",
            r => r.CancelLatencyMs?.P99, v => v <= 25, 1, AtCancelLevel,
            "the Stop's database write and Redis push queue behind streaming work on 2 shared cores (the tail is where the machine's load shows)"),
    ];

    /// <summary>The figure, and the verdict where the target is stated at this level (null: not stated here, or not measured).</summary>
    public static (string Figure, bool? Pass) Judge(Target target, BenchReport report, CoordinationMode mode, int streams)
    {
        var value = Measure(target, report, mode, streams);
        return value is { } v ? (Figure.Number(v, target.Decimals), target.AppliesAt(streams) ? target.Meets(v) : null) : (Figure.NotMeasured, null);
    }

    public static double? Measure(Target target, BenchReport report, CoordinationMode mode, int streams) =>
        target.Measure is null
            ? Figure.Divide(report.Find(mode, streams)?.ClusterCpuMsPerAnswer, report.Find(CoordinationMode.Single, streams)?.CpuMsPerAnswer)
            : report.Find(mode, streams) is { } result ? target.Measure(result) : null;

    /// <summary>Every target missed by push where it is stated, with the figure and the usual cause.</summary>
    public static IReadOnlyList<(Target Target, int Streams, string Figure)> Misses(BenchReport report) =>
        [.. All.SelectMany(t => report.Levels.Where(t.AppliesAt).Select(l => (Target: t, Streams: l, Judged: Judge(t, report, CoordinationMode.Push, l))))
            .Where(j => j.Judged.Pass == false)
            .Select(j => (j.Target, j.Streams, j.Judged.Figure))];

    /// <summary>Target | stated at | push at each level (figure, and the verdict where it is stated) | polling, for reference.</summary>
    public static TextTable Table(BenchReport report)
    {
        var levels = report.Levels;
        var table = new TextTable(["target", "stated at", .. levels.Select(l => $"push @ {l}"), $"polling @ {report.CancelTargetLevel}"]);
        foreach (var target in All)
        {
            var cells = levels.Select(l => (Level: l, Judged: Judge(target, report, CoordinationMode.Push, l)))
                .Select(j => j.Judged.Pass is null ? j.Judged.Figure : $"{j.Judged.Figure} {Figure.Verdict(j.Judged.Pass)}");
            var polling = Judge(target, report, CoordinationMode.Polling, report.CancelTargetLevel).Figure;
            table.Add([target.Name, target.StatedAt, .. cells, polling]);
        }

        return table;
    }
}

/// <param name="Measure">The figure of a level; null for the CPU ratio, which needs two modes.</param>
/// <param name="AppliesAt">The levels the target is stated at; elsewhere the figure is shown without a verdict.</param>
/// <param name="Cause">The usual cause of a miss, for the report.</param>
public sealed record Target(string Name, string StatedAt, Func<LevelResult, double?>? Measure, Func<double, bool> Meets, int Decimals, Func<int, bool> AppliesAt, string Cause);
