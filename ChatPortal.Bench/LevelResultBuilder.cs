namespace ChatPortal.Bench;

/// <summary>Turns the raw readings of one level (what users saw, commandstats, /proc, the nodes' figures) into its figures.</summary>
public static class LevelResultBuilder
{
    public static LevelResult Build(
        CoordinationMode mode,
        BenchOptions options,
        LevelRun run,
        CommandDelta? commands,
        double idleCommandsPerSecond,
        ResourceUsage usage,
        CoordinationFigures? coordination,
        DatabaseReadings database,
        TimeSpan? serverCpu)
    {
        var ended = run.Outcomes.Where(o => o.Ended).ToList();
        var answers = ended.Count;
        var cancels = run.Outcomes.Where(o => o.Cancel is not null).ToList();
        double? PerAnswer(double value) => answers == 0 ? null : value / answers;

        return new LevelResult
        {
            Mode = mode,
            Streams = run.Streams,
            Answers = answers,
            NotEnded = run.Outcomes.Count - answers,
            Completed = ended.Count(o => o.Status == "completed"),
            Cancelled = ended.Count(o => o.Status == "cancelled"),
            Seconds = run.Elapsed.TotalSeconds,
            CommandsPerAnswer = mode.UsesRedis() ? commands is null ? null : PerAnswer(commands.Total) : 0,
            AnswerPathCommandsPerAnswer = mode.UsesRedis()
                ? commands is null ? null : PerAnswer(commands.Total - idleCommandsPerSecond * commands.Elapsed.TotalSeconds)
                : 0,
            CommandsPerChunk = !mode.UsesRedis() ? 0
                : run.Window is { Chunks: > 0, Commands: not null } window ? (window.Commands.Total - idleCommandsPerSecond * window.Commands.Elapsed.TotalSeconds) / window.Chunks
                : null,
            WindowChunks = run.Window?.Chunks,
            CommandsByName = commands is null || answers == 0
                ? new Dictionary<string, double>()
                : commands.Calls.ToDictionary(c => c.Key, c => (double)c.Value / answers),
            Coordination = coordination,
            DbTransactionsPerAnswer = database.Nodes is { } db ? PerAnswer(db.Transactions) : null,
            AnswerPathDbTransactionsPerAnswer = database.Nodes is { } dbPath ? PerAnswer(dbPath.Transactions - dbPath.TitleWrites - database.Idle.TransactionsPerSecond * dbPath.Elapsed.TotalSeconds) : null,
            TitleWritesPerAnswer = database.Nodes is { } titles ? PerAnswer(titles.TitleWrites) : null,
            DbStatementsPerAnswer = database.Nodes is { } dbStatements ? PerAnswer(dbStatements.Statements) : null,
            AnswerPathDbStatementsPerAnswer = database.Nodes is { } dbStatementsPath ? PerAnswer(dbStatementsPath.Statements - dbStatementsPath.TitleWrites - database.Idle.StatementsPerSecond * dbStatementsPath.Elapsed.TotalSeconds) : null,
            DbTransactionsPerChunk = run.Window is { Chunks: > 0, Database: { } windowDb } w ? (double)windowDb.Transactions / w.Chunks : null,
            PostgresCommitsPerAnswer = database.PostgresCommits is { } commits ? PerAnswer(commits) : null,
            AnswerPathPostgresCommitsPerAnswer = database.PostgresCommits is { } pathCommits && database.Nodes is { } span
                ? PerAnswer(pathCommits - span.TitleWrites - database.Idle.TransactionsPerSecond * span.Elapsed.TotalSeconds)
                : null,
            ServerCpuMsPerAnswer = serverCpu is { } servers ? PerAnswer(servers.TotalMilliseconds) : null,
            CpuMsPerAnswer = usage.NodeCpu is { } cpu ? PerAnswer(cpu.TotalMilliseconds) : null,
            PeakRssMiB = usage.PeakRssBytes is { } rss ? rss / 1024.0 / 1024.0 : null,
            MachineBusy = usage.MachineBusy,
            OutsideBusy = usage.OutsideBusy,
            CancelLatencyMs = LatencySummary.Of(cancels.Select(o => o.CancelLatencyMs).OfType<double>()),
            CancelResponseMs = LatencySummary.Of(cancels.Select(o => o.Cancel!.ResponseMs)),
            CancelAttempts = cancels.Count,
            FirstAttemptSuccess = cancels.Count == 0 ? null : (double)cancels.Count(o => o.Cancel!.Confirmed) / cancels.Count,
            TokensPerSecond = run.Outcomes.Sum(o => o.Deltas) / run.Elapsed.TotalSeconds,
            TokenLatenessMs = LatencySummary.Of(ended.Select(o => o.WorstLatenessMs).OfType<double>()),
        };
    }
}

/// <param name="Nodes">What the nodes counted from the measurement's start to the end of the quiet gap after it.</param>
/// <param name="PostgresCommits">PostgreSQL's xact_commit of the bench database over the same span (cluster modes).</param>
/// <param name="Idle">The nodes' idle database rate, pooled over the quiet gaps.</param>
public sealed record DatabaseReadings(DatabaseDelta? Nodes, long? PostgresCommits, DatabaseIdle Idle);

public sealed record DatabaseIdle(double StatementsPerSecond, double TransactionsPerSecond);
