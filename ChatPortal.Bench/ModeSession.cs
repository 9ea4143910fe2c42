using System.Diagnostics;

namespace ChatPortal.Bench;

/// <summary>
/// One mode through the whole run, on its own fresh cluster: an unreported warm-up level (JIT), then each level
/// between two readings of Redis commandstats, node CPU and the nodes' own figures, with a quiet gap after each
/// level in which the nodes' idle Redis and database background is sampled. The nodes' database counters are
/// read live from each node's /metrics when the measurement starts and after the quiet gap; PostgreSQL's own
/// count (cluster modes) at the same two moments, each time after its statistics have settled.
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
    private readonly NodeDatabaseCounters _database;
    private readonly ProcessSetCpu _servers;
    private readonly List<MeasuredLevel> _levels = [];
    private int? _redisProcessId;
    private CommandDelta _idle = CommandDelta.None;
    private DatabaseDelta _databaseIdle = DatabaseDelta.None;
    private CoordinationTotals _totals = CoordinationTotals.Zero;
    private long _answers;

    private ModeSession(BenchOptions options, TextWriter log, BenchCluster cluster, RedisCommandStats? stats)
    {
        _options = options;
        _log = log;
        _cluster = cluster;
        _stats = stats;
        _metrics = new NodeMetricsReader(cluster.Nodes, options.AdminPassword);
        _database = new NodeDatabaseCounters(cluster.Nodes);
        _driver = new LoadDriver(cluster, options, stats, _database);
        _servers = new ProcessSetCpu(ServerProcessIds);
    }

    /// <summary>The redis-server and the PostgreSQL processes this session started: the cluster's shared servers.</summary>
    private IReadOnlyList<int> ServerProcessIds() =>
        [.. _redisProcessId is { } pid ? [pid] : Array.Empty<int>(), .. _cluster.Postgres?.ProcessIds() ?? []];

    /// <summary>How long PostgreSQL's statistics need to settle before a reading (zero without PostgreSQL or in smoke runs).</summary>
    private TimeSpan PostgresSettle => _cluster.Postgres is null ? TimeSpan.Zero : _options.PostgresSettle;

    public CoordinationMode Mode => _cluster.Mode;

    /// <summary>The processes this session started: its nodes, its redis-server and PostgreSQL (the backends open now).</summary>
    public IReadOnlyList<int> ProcessIds => [.. _cluster.ProcessIds, .. ServerProcessIds()];

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
            log.WriteLine($"[{mode.Name()}] {cluster.Nodes.Count} node(s) on {mode.Database()} up in {clock.Elapsed.TotalSeconds:0.0} s");
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
            await QuietGapAsync();
        }

        _totals = await _metrics.ReadAsync(_answers, MetricsWait);
        _log.WriteLine($"[{Mode.Name()}] warmed up with {_options.WarmupRounds} × {_options.WarmupStreams} streams");
    }

    /// <param name="ownProcesses">Every process of this benchmark, to tell its CPU from other work on the machine.</param>
    public async Task RunLevelAsync(int streams, IReadOnlyList<int> ownProcesses)
    {
        CommandCounts? start = null;
        DatabaseCounts? databaseStart = null;
        long? postgresStart = null;
        ResourceMonitor? monitor = null;
        var run = await _driver.RunAsync(
            streams,
            async () =>
            {
                postgresStart = _cluster.Postgres is { } pg ? await pg.ReadAsync() : null;
                databaseStart = await _database.ReadAsync();
                start = _stats is null ? null : await _stats.ReadAsync();
                _servers.Start();
                monitor = ResourceMonitor.Start(_cluster.ProcessIds, ownProcesses);
            },
            PostgresSettle > TimeSpan.Zero ? () => Task.Delay(PostgresSettle) : null);
        var end = _stats is null ? null : await _stats.ReadAsync();
        var usage = await monitor!.StopAsync();
        var servers = _servers.Stop();
        await monitor.DisposeAsync();

        _answers += run.Outcomes.Count(o => o.Ended);
        await QuietGapAsync();
        var databaseEnd = await _database.ReadAsync();
        long? postgresEnd = _cluster.Postgres is { } postgres ? await postgres.ReadAsync() : null;
        var totals = await _metrics.ReadAsync(_answers, MetricsWait);
        var database = databaseStart is null || databaseEnd is null ? null : databaseEnd.Since(databaseStart);
        _levels.Add(new MeasuredLevel(run, end?.Since(start!), usage, totals.Since(_totals), database, postgresEnd - postgresStart,
            _redisProcessId is null && _cluster.Postgres is null ? null : servers));
        _totals = totals;
        _log.WriteLine($"[{Mode.Name()}] {streams} streams: {run.Outcomes.Count(o => o.Ended)}/{streams} ended in {run.Elapsed.TotalSeconds:0.0} s" +
            (database is null ? "" : $", {database.Transactions} db transactions / {database.Statements} statements") +
            (postgresEnd - postgresStart is { } commits ? $", {commits} PostgreSQL commits" : ""));
    }

    /// <summary>The figures of every level run so far; the idle background is pooled over all quiet gaps.</summary>
    public IReadOnlyList<LevelResult> Results()
    {
        var idlePerSecond = _idle.Elapsed > TimeSpan.Zero ? _idle.Total / _idle.Elapsed.TotalSeconds : 0;
        var idle = _databaseIdle.Elapsed > TimeSpan.Zero
            ? new DatabaseIdle(_databaseIdle.Statements / _databaseIdle.Elapsed.TotalSeconds, _databaseIdle.Transactions / _databaseIdle.Elapsed.TotalSeconds)
            : new DatabaseIdle(0, 0);
        return [.. _levels.Select(l => LevelResultBuilder.Build(Mode, _options, l.Run, l.Commands, idlePerSecond, l.Usage, l.Coordination,
            new DatabaseReadings(l.Database, l.PostgresCommits, idle), l.ServerCpu))];
    }

    /// <summary>
    /// Waits while nothing runs (the nodes' heartbeats then carry their final figures, PostgreSQL's statistics
    /// settle) and samples the Redis commands and database work of that quiet time: the nodes' idle background.
    /// </summary>
    private async Task QuietGapAsync()
    {
        var start = _stats is null ? null : await _stats.ReadAsync();
        var databaseStart = await _database.ReadAsync();
        await Task.Delay(PostgresSettle > _options.IdleGap ? PostgresSettle : _options.IdleGap);
        if (_stats is not null)
        {
            _idle = _idle.Plus((await _stats.ReadAsync()).Since(start!));
        }

        if (databaseStart is not null && await _database.ReadAsync() is { } databaseEnd)
        {
            _databaseIdle = _databaseIdle.Plus(databaseEnd.Since(databaseStart));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _metrics.Dispose();
        _database.Dispose();
        if (_stats is not null)
        {
            await _stats.DisposeAsync();
        }

        await _cluster.DisposeAsync();
    }

    private sealed record MeasuredLevel(
        LevelRun Run, CommandDelta? Commands, ResourceUsage Usage, CoordinationFigures? Coordination, DatabaseDelta? Database, long? PostgresCommits, TimeSpan? ServerCpu);
}
