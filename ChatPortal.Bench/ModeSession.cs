using System.Diagnostics;

namespace ChatPortal.Bench;

/// <summary>
/// One mode through the whole run, on its own fresh cluster: an unreported warm-up level (JIT), then each level
/// between two readings of Redis commandstats, node CPU and the nodes' own figures, with a quiet gap after each
/// level in which the nodes' idle Redis background is sampled.
/// </summary>
public sealed class ModeSession : IAsyncDisposable
{
    private static readonly TimeSpan MetricsWait = TimeSpan.FromSeconds(6);

    private readonly BenchOptions _options;
    private readonly TextWriter _log;
    private readonly BenchCluster _cluster;
    private readonly RedisCommandStats? _stats;
    private readonly NodeMetricsReader _metrics;
    private readonly LoadDriver _driver;
    private readonly List<MeasuredLevel> _levels = [];
    private int? _redisProcessId;
    private CommandDelta _idle = CommandDelta.None;
    private CoordinationTotals _totals = CoordinationTotals.Zero;
    private long _answers;

    private ModeSession(BenchOptions options, TextWriter log, BenchCluster cluster, RedisCommandStats? stats)
    {
        _options = options;
        _log = log;
        _cluster = cluster;
        _stats = stats;
        _metrics = new NodeMetricsReader(cluster.Nodes, options.AdminPassword);
        _driver = new LoadDriver(cluster, options, stats);
    }

    public CoordinationMode Mode => _cluster.Mode;

    /// <summary>The processes this session started: its nodes and its redis-server.</summary>
    public IReadOnlyList<int> ProcessIds => [.. _cluster.ProcessIds, .. _redisProcessId is { } pid ? [pid] : Array.Empty<int>()];

    public static async Task<ModeSession> StartAsync(CoordinationMode mode, BenchOptions options, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var cluster = options.Urls is { Count: > 0 } urls
            ? BenchCluster.Attach(mode, urls, options.Redis)
            : await BenchCluster.StartAsync(mode, options);
        try
        {
            var stats = cluster.RedisEndpoint is { } endpoint ? await RedisCommandStats.ConnectAsync(endpoint) : null;
            var session = new ModeSession(options, log, cluster, stats)
            {
                _redisProcessId = cluster.OwnsRedis && stats is not null ? await stats.ServerProcessIdAsync() : null,
            };
            log.WriteLine($"[{mode.Name()}] {cluster.Nodes.Count} nodes up in {clock.Elapsed.TotalSeconds:0.0} s");
            return session;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Levels like the others, not reported: every path compiled, and recompiled at tier 1, before anything is measured.</summary>
    public async Task WarmUpAsync()
    {
        _answers = (await _metrics.ReadAsync(0, TimeSpan.Zero)).Answers;
        for (var round = 0; round < _options.WarmupRounds; round++)
        {
            var warmup = await _driver.RunAsync(_options.WarmupStreams, () => Task.CompletedTask);
            _answers += warmup.Outcomes.Count(o => o.Ended);
            _idle = _idle.Plus(await QuietGapAsync());
        }

        _totals = await _metrics.ReadAsync(_answers, MetricsWait);
        _log.WriteLine($"[{Mode.Name()}] warmed up with {_options.WarmupRounds} × {_options.WarmupStreams} streams");
    }

    /// <param name="ownProcesses">Every process of this benchmark, to tell its CPU from other work on the machine.</param>
    public async Task RunLevelAsync(int streams, IReadOnlyList<int> ownProcesses)
    {
        CommandCounts? start = null;
        ResourceMonitor? monitor = null;
        var run = await _driver.RunAsync(streams, async () =>
        {
            start = _stats is null ? null : await _stats.ReadAsync();
            monitor = ResourceMonitor.Start(_cluster.ProcessIds, ownProcesses);
        });
        var end = _stats is null ? null : await _stats.ReadAsync();
        var usage = await monitor!.StopAsync();
        await monitor.DisposeAsync();

        _answers += run.Outcomes.Count(o => o.Ended);
        _idle = _idle.Plus(await QuietGapAsync());
        var totals = await _metrics.ReadAsync(_answers, MetricsWait);
        _levels.Add(new MeasuredLevel(run, end?.Since(start!), usage, totals.Since(_totals)));
        _totals = totals;
        _log.WriteLine($"[{Mode.Name()}] {streams} streams: {run.Outcomes.Count(o => o.Ended)}/{streams} ended in {run.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>The figures of every level run so far; the idle background is pooled over all quiet gaps.</summary>
    public IReadOnlyList<LevelResult> Results()
    {
        var idlePerSecond = _idle.Elapsed > TimeSpan.Zero ? _idle.Total / _idle.Elapsed.TotalSeconds : 0;
        return [.. _levels.Select(l => LevelResultBuilder.Build(Mode, _options, l.Run, l.Commands, idlePerSecond, l.Usage, l.Coordination))];
    }

    /// <summary>
    /// Waits while nothing runs (the nodes' heartbeats then carry their final figures) and returns the Redis
    /// commands of that quiet time: the nodes' idle background.
    /// </summary>
    private async Task<CommandDelta> QuietGapAsync()
    {
        var start = _stats is null ? null : await _stats.ReadAsync();
        await Task.Delay(_options.IdleGap);
        return _stats is null ? CommandDelta.None : (await _stats.ReadAsync()).Since(start!);
    }

    public async ValueTask DisposeAsync()
    {
        _metrics.Dispose();
        if (_stats is not null)
        {
            await _stats.DisposeAsync();
        }

        await _cluster.DisposeAsync();
    }

    private sealed record MeasuredLevel(LevelRun Run, CommandDelta? Commands, ResourceUsage Usage, CoordinationFigures? Coordination);
}
