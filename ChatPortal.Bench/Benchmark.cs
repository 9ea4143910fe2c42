using System.Diagnostics;

namespace ChatPortal.Bench;

/// <summary>
/// One invocation. Every mode gets its own cluster for the whole run, and the levels are interleaved (each level
/// runs push, single, polling in turn, the other clusters idle meanwhile), so a change in the machine's load
/// from outside hits all modes alike.
/// </summary>
public sealed class Benchmark(BenchOptions options, TextWriter log)
{
    public async Task<BenchReport> RunAsync()
    {
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var loadBefore = MachineInfo.LoadAverage();
        var machine = await MachineInfo.ReadAsync();
        var sessions = new List<ModeSession>();
        try
        {
            foreach (var mode in options.Modes)
            {
                sessions.Add(await ModeSession.StartAsync(mode, options, log));
            }

            foreach (var session in sessions)
            {
                await session.WarmUpAsync();
            }

            IReadOnlyList<int> own = [Environment.ProcessId, .. sessions.SelectMany(s => s.ProcessIds)];
            foreach (var streams in options.Levels)
            {
                foreach (var session in sessions)
                {
                    await session.RunLevelAsync(streams, own);
                }
            }

            var results = sessions.SelectMany(s => s.Results()).ToList();
            log.WriteLine($"done in {clock.Elapsed.TotalSeconds:0} s");
            return new BenchReport(options, machine, results, startedAt, clock.Elapsed, loadBefore, MachineInfo.LoadAverage());
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }
    }

    /// <summary>docs/BENCHMARKS.md and the three charts under docs/images/.</summary>
    public static async Task<string> WriteAsync(BenchReport report, string directory)
    {
        var images = Path.Combine(directory, "images");
        Directory.CreateDirectory(images);
        await File.WriteAllTextAsync(Path.Combine(images, BenchCharts.CancelLatencyFile), BenchCharts.CancelLatency(report));
        await File.WriteAllTextAsync(Path.Combine(images, BenchCharts.RedisCommandsFile), BenchCharts.RedisCommands(report));
        await File.WriteAllTextAsync(Path.Combine(images, BenchCharts.DatabaseFile), BenchCharts.Database(report));
        var path = Path.Combine(directory, "BENCHMARKS.md");
        await MarkdownReport.WriteAsync(report, path);
        return path;
    }
}
