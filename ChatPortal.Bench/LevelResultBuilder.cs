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
        CoordinationFigures? coordination)
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
                : run.Window is { Chunks: > 0 } window ? (window.Commands.Total - idleCommandsPerSecond * window.Commands.Elapsed.TotalSeconds) / window.Chunks
                : null,
            WindowChunks = run.Window?.Chunks,
            CommandsByName = commands is null || answers == 0
                ? new Dictionary<string, double>()
                : commands.Calls.ToDictionary(c => c.Key, c => (double)c.Value / answers),
            Coordination = coordination,
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
