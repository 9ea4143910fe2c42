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

    /// <summary>Database transactions the nodes counted over the level and its quiet gap, per answer (lease renewals included).</summary>
    public double? DbTransactionsPerAnswer { get; init; }

    /// <summary>As <see cref="DbTransactionsPerAnswer"/> without the nodes' idle database background (lease renewals, janitor)
    /// and without the model-written titles (<see cref="TitleWritesPerAnswer"/>).</summary>
    public double? AnswerPathDbTransactionsPerAnswer { get; init; }

    /// <summary>Model-written titles stored, per answer: one UPDATE after a conversation's first answer (every answer of
    /// the benchmark is one), counted in the all-in figures and taken out of the answer path.</summary>
    public double? TitleWritesPerAnswer { get; init; }

    /// <summary>Database statements the nodes counted, per answer, all in.</summary>
    public double? DbStatementsPerAnswer { get; init; }

    /// <summary>As <see cref="DbStatementsPerAnswer"/> without the idle background and the title writes.</summary>
    public double? AnswerPathDbStatementsPerAnswer { get; init; }

    /// <summary>Database transactions per chunk in the steady window (lease renewals included: an upper bound).</summary>
    public double? DbTransactionsPerChunk { get; init; }

    /// <summary>PostgreSQL's own <c>pg_stat_database.xact_commit</c> of the bench database over the level and its gap, per answer.</summary>
    public double? PostgresCommitsPerAnswer { get; init; }

    /// <summary>As <see cref="PostgresCommitsPerAnswer"/> without the nodes' idle database background.</summary>
    public double? AnswerPathPostgresCommitsPerAnswer { get; init; }

    public double? CpuMsPerAnswer { get; init; }

    /// <summary>CPU of the shared servers (redis-server, PostgreSQL and its backends) over the level, per answer; null for a single node.</summary>
    public double? ServerCpuMsPerAnswer { get; init; }

    /// <summary>Nodes plus shared servers: what a cluster spends per answer, against a single node's <see cref="CpuMsPerAnswer"/>.</summary>
    public double? ClusterCpuMsPerAnswer => CpuMsPerAnswer + (ServerCpuMsPerAnswer ?? 0);

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
