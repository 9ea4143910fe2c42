using System.Globalization;

namespace ChatPortal.Bench;

/// <summary>The three charts of docs/BENCHMARKS.md: cancel latency and Redis commands per answer, against concurrency.</summary>
public static class BenchCharts
{
    public const string CancelLatencyFile = "bench-cancel-latency.svg";
    public const string RedisCommandsFile = "bench-redis-commands.svg";
    public const string DatabaseFile = "bench-database.svg";

    private const string PushColor = "#2563eb";
    private const string PollingColor = "#dc2626";
    private const string MemoryColor = "#059669";

    public static string CancelLatency(BenchReport report)
    {
        var chart = new SvgLineChart(
            "Cross-node cancel: click → stream ended",
            $"concurrent streams over {report.Options.Nodes} nodes",
            "milliseconds (log scale)",
            Categories(report),
            logarithmic: true)
        {
            Note = $"{report.Options.ResponseTokens}-token answers at {report.Options.TokensPerSecond.ToString(CultureInfo.InvariantCulture)} tokens/s; polling checks the flag every 10 chunks",
        };
        return chart
            .AddThreshold(25, "target p99 ≤ 25 ms")
            .AddThreshold(5, "target p50 ≤ 5 ms")
            .Add("polling p99", PollingColor, Series(report, CoordinationMode.Polling, r => r.CancelLatencyMs?.P99))
            .Add("polling p50", PollingColor, Series(report, CoordinationMode.Polling, r => r.CancelLatencyMs?.P50), dashed: true)
            .Add("push p99", PushColor, Series(report, CoordinationMode.Push, r => r.CancelLatencyMs?.P99))
            .Add("push p50", PushColor, Series(report, CoordinationMode.Push, r => r.CancelLatencyMs?.P50), dashed: true)
            .Render();
    }

    public static string RedisCommands(BenchReport report) =>
        new SvgLineChart(
            "Redis commands per answer (INFO commandstats, all in)",
            $"concurrent streams over {report.Options.Nodes} nodes (single: one node)",
            "commands per answer",
            Categories(report))
        {
            Note = $"{report.Options.ResponseTokens}-token answers; node heartbeats and dashboard sampling included; one node alone (SQLite) uses no Redis",
        }
            .AddThreshold(6, "target all in ≤ 6 (from 100 streams)")
            .Add("polling", PollingColor, Series(report, CoordinationMode.Polling, r => r.CommandsPerAnswer))
            .Add("push", PushColor, Series(report, CoordinationMode.Push, r => r.CommandsPerAnswer))
            .Add("push, answer path (idle background out)", PushColor, Series(report, CoordinationMode.Push, r => r.AnswerPathCommandsPerAnswer), dashed: true)
            .Add("single node, SQLite (no Redis: 0)", MemoryColor, Series(report, CoordinationMode.Single, r => r.CommandsPerAnswer), labelled: false)
            .Render();

    public static string Database(BenchReport report) =>
        new SvgLineChart(
            "Database transactions per answer",
            $"concurrent streams over {report.Options.Nodes} nodes (single: one node)",
            "transactions per answer",
            Categories(report))
        {
            Note = $"{report.Options.ResponseTokens}-token answers, {report.Options.CancelShare * 100:0} % stopped; answer path = lease renewals and title writes out",
        }
            .AddThreshold(2, "target ≤ 2 (start, end)")
            .Add("push, PostgreSQL's xact_commit, all in", PollingColor, Series(report, CoordinationMode.Push, r => r.PostgresCommitsPerAnswer), dashed: true)
            .Add("push, node-reported, all in", PushColor, Series(report, CoordinationMode.Push, r => r.DbTransactionsPerAnswer), dashed: true)
            .Add("push, node-reported, answer path", PushColor, Series(report, CoordinationMode.Push, r => r.AnswerPathDbTransactionsPerAnswer))
            .Add("single node (SQLite), answer path", MemoryColor, Series(report, CoordinationMode.Single, r => r.AnswerPathDbTransactionsPerAnswer))
            .Render();

    private static IReadOnlyList<string> Categories(BenchReport report) =>
        [.. report.Levels.Select(l => l.ToString(CultureInfo.InvariantCulture))];

    private static IReadOnlyList<double?> Series(BenchReport report, CoordinationMode mode, Func<LevelResult, double?> figure) =>
        [.. report.Levels.Select(l => report.Find(mode, l) is { } r ? figure(r) : null)];
}
