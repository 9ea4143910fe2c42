using System.Globalization;

namespace ChatPortal.Bench;

/// <summary>The two charts of docs/BENCHMARKS.md: cancel latency and Redis commands per answer, against concurrency.</summary>
public static class BenchCharts
{
    public const string CancelLatencyFile = "bench-cancel-latency.svg";
    public const string RedisCommandsFile = "bench-redis-commands.svg";

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
            $"concurrent streams over {report.Options.Nodes} nodes",
            "commands per answer",
            Categories(report))
        {
            Note = $"{report.Options.ResponseTokens}-token answers; node heartbeats and dashboard sampling included; in-memory uses no Redis",
        }
            .AddThreshold(15, "target all in ≤ 15")
            .AddThreshold(6, "target coordination ≤ 6")
            .Add("polling", PollingColor, Series(report, CoordinationMode.Polling, r => r.CommandsPerAnswer))
            .Add("push", PushColor, Series(report, CoordinationMode.Push, r => r.CommandsPerAnswer))
            .Add("push, coordination only (node-reported)", PushColor, Series(report, CoordinationMode.Push, r => r.Coordination?.CommandsPerAnswer), dashed: true)
            .Add("in-memory (no Redis: 0)", MemoryColor, Series(report, CoordinationMode.InMemory, r => r.CommandsPerAnswer), labelled: false)
            .Render();

    private static IReadOnlyList<string> Categories(BenchReport report) =>
        [.. report.Levels.Select(l => l.ToString(CultureInfo.InvariantCulture))];

    private static IReadOnlyList<double?> Series(BenchReport report, CoordinationMode mode, Func<LevelResult, double?> figure) =>
        [.. report.Levels.Select(l => report.Find(mode, l) is { } r ? figure(r) : null)];
}
