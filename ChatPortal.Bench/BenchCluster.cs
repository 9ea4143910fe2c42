using System.Globalization;
using ChatPortal.Testing;

namespace ChatPortal.Bench;

/// <summary>
/// The nodes one mode runs on: a fresh redis-server and PostgreSQL (Redis modes: a cluster keeps its conversations
/// in PostgreSQL) and fresh node processes on loopback, or nodes that already run at given URLs.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    /// <summary>Connections each node may hold: hundreds of concurrent answers write their messages.</summary>
    private const int NodeMaxPoolSize = 50;

    private readonly RedisServer? _redis;
    private readonly PostgresServer? _postgres;
    private readonly IReadOnlyList<NodeProcess> _processes;

    /// <summary>The database the nodes of a cluster mode share on the PostgreSQL this benchmark started.</summary>
    public const string DatabaseName = "bench";

    private BenchCluster(CoordinationMode mode, IReadOnlyList<Uri> nodes, IReadOnlyList<string?> nodeIds, string? redisEndpoint, RedisServer? redis, IReadOnlyList<NodeProcess> processes, PostgresServer? postgres = null)
    {
        _postgres = postgres;
        Postgres = postgres is null ? null : new PostgresCommitStats(postgres, DatabaseName);
        Mode = mode;
        Nodes = nodes;
        NodeIds = nodeIds;
        RedisEndpoint = redisEndpoint;
        _redis = redis;
        _processes = processes;
    }

    public CoordinationMode Mode { get; }

    public IReadOnlyList<Uri> Nodes { get; }

    /// <summary>Node names when this benchmark named them (null for given URLs).</summary>
    public IReadOnlyList<string?> NodeIds { get; }

    /// <summary>host:port of the Redis the nodes share, when it is known.</summary>
    public string? RedisEndpoint { get; }

    /// <summary>The PostgreSQL server's own count of the bench database's commits, when this benchmark started it.</summary>
    public PostgresCommitStats? Postgres { get; }

    /// <summary>True when this benchmark started the redis-server (false for given URLs).</summary>
    public bool OwnsRedis => _redis is not null;

    /// <summary>Process ids of the nodes this benchmark started (empty for given URLs).</summary>
    public IReadOnlyList<int> ProcessIds => [.. _processes.Select(p => p.ProcessId).OfType<int>()];

    public static async Task<BenchCluster> StartAsync(CoordinationMode mode, BenchOptions options)
    {
        var postgresStarting = mode.UsesPostgres() ? PostgresServer.StartAsync() : null;
        var redis = mode.UsesRedis() ? await RedisServer.StartAsync() : null;
        var postgres = postgresStarting is null ? null : await postgresStarting;
        var settings = new Dictionary<string, string>
        {
            ["ChatPortal__Model__Simulated__ResponseTokens"] = options.ResponseTokens.ToString(CultureInfo.InvariantCulture),
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = options.TokensPerSecond.ToString(CultureInfo.InvariantCulture),
            ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
            ["ChatPortal__Limits__MessagesPerMinute"] = "100000",
            ["ChatPortal__Limits__MessagesPerMinutePerAddress"] = "100000", // every simulated user comes from 127.0.0.1
            ["ChatPortal__Limits__ConcurrentAnswersPerUser"] = "100", // each simulated user runs one answer; no limit should ever bite
            ["Logging__LogLevel__ChatPortal"] = "Warning",
        };
        if (redis is not null)
        {
            settings["ChatPortal__Redis"] = redis.ConnectionString;
        }

        if (postgres is not null)
        {
            settings["ChatPortal__Database__Provider"] = "Postgres";
            settings["ChatPortal__Database__ConnectionString"] = await postgres.CreateDatabaseAsync(DatabaseName, NodeMaxPoolSize);
        }

        foreach (var (key, value) in mode.NodeSettings())
        {
            settings[key] = value;
        }

        // One node at a time (the first applies the migrations to the fresh database), each given a second chance:
        // on a loaded shared machine, nodes starting together outlast a node's start deadline.
        var starting = new List<Task<NodeProcess>>();
        try
        {
            for (var i = 0; i < mode.NodeCount(options); i++)
            {
                var nodeId = $"node-{(char)('a' + i)}";
                var start = NodeProcess.StartAsync(nodeId, settings);
                try
                {
                    await start;
                }
                catch (TimeoutException)
                {
                    start = NodeProcess.StartAsync(nodeId, settings);
                    await start;
                }

                starting.Add(start);
            }

            var processes = await Task.WhenAll(starting);
            return new BenchCluster(mode, [.. processes.Select(p => p.BaseAddress)], [.. processes.Select(p => (string?)p.NodeId)], redis?.ConnectionString, redis, processes, postgres);
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }

            if (redis is not null)
            {
                await redis.DisposeAsync();
            }

            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            throw;
        }
    }

    public static BenchCluster Attach(CoordinationMode mode, IReadOnlyList<string> urls, string? redisEndpoint) =>
        new(mode, [.. urls.Select(u => new Uri(u.TrimEnd('/') + "/"))], [.. urls.Select(_ => (string?)null)], redisEndpoint, null, []);

    /// <summary>The index of the node with this name, when known.</summary>
    public int? IndexOf(string? nodeId)
    {
        for (var i = 0; i < NodeIds.Count; i++)
        {
            if (NodeIds[i] is { } id && id == nodeId)
            {
                return i;
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
