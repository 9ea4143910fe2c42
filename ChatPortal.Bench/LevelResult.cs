namespace ChatPortal.Bench;

/// <summary>The figures of one mode at one concurrency level. Null where a figure cannot be measured (no Redis, nodes not ours).</summary>
public sealed record LevelResult
{
    public required CoordinationMode Mode { get; init; }

    public required int Streams { get; init; }

    public required int Answers { get; init; }

    /// <summary>Streams that did not reach <c>done</c> (errors, or the level's deadline).</summary>
    public required int NotEnded { get; init; }

    public required int Completed { get; init; }

    public required int Cancelled { get; init; }

    public required double Seconds { get; init; }

    /// <summary>INFO commandstats over the level, everything counted (node heartbeats too), per answer.</summary>
    public double? CommandsPerAnswer { get; init; }

    /// <summary>As <see cref="CommandsPerAnswer"/> without the nodes' idle background (heartbeats, janitor, watchdog, dashboard sampler).</summary>
    public double? AnswerPathCommandsPerAnswer { get; init; }

    /// <summary>Commands per chunk in the steady window, the idle background taken out.</summary>
    public double? CommandsPerChunk { get; init; }

    public long? WindowChunks { get; init; }

    /// <summary>Commands per answer by command name (all in), for the breakdown.</summary>
    public IReadOnlyDictionary<string, double> CommandsByName { get; init; } = new Dictionary<string, double>();

    /// <summary>What the nodes' coordinator reported (start + end of each answer).</summary>
    public CoordinationFigures? Coordination { get; init; }

    public double? CpuMsPerAnswer { get; init; }

    public double? PeakRssMiB { get; init; }

    public double MachineBusy { get; init; }

    /// <summary>The part of <see cref="MachineBusy"/> that was not this benchmark's processes (others' work on a shared machine).</summary>
    public double OutsideBusy { get; init; }

    public LatencySummary? CancelLatencyMs { get; init; }

    public LatencySummary? CancelResponseMs { get; init; }

    public int CancelAttempts { get; init; }

    public double? FirstAttemptSuccess { get; init; }

    public double TokensPerSecond { get; init; }

    /// <summary>Per stream, how late its latest token came against the model's pace; p50/p95/p99 over the streams.</summary>
    public LatencySummary? TokenLatenessMs { get; init; }
}

public sealed record LatencySummary(double P50, double P95, double P99, double Max, int Count)
{
    public static LatencySummary? Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0
            ? null
            : new LatencySummary(Rank(sorted, 50), Rank(sorted, 95), Rank(sorted, 99), sorted[^1], sorted.Length);
    }

    /// <summary>Nearest rank: the smallest sample with at least p % of the samples at or below it.</summary>
    private static double Rank(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
