using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// A real cluster: one redis-server on a free port, a PostgreSQL database of its own (the system of record) and
/// N ChatPortal node processes sharing both, each started from the publish folder as an operator would start it.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly bool _ownsPostgres;

    private Cluster(RedisServer redis, PostgresServer postgres, bool ownsPostgres, string database, IReadOnlyList<NodeProcess> nodes)
    {
        Redis = redis;
        Postgres = postgres;
        _ownsPostgres = ownsPostgres;
        Database = database;
        Nodes = nodes;
    }

    public RedisServer Redis { get; }

    /// <summary>
    /// The PostgreSQL the nodes use: the test process's shared server, or one of the cluster's own
    /// (<c>ownPostgres</c>) that a test may kill and restart.
    /// </summary>
    public PostgresServer Postgres { get; }

    /// <summary>The cluster's database on <see cref="Postgres"/> (for <c>Postgres.QueryAsync(Database, ...)</c>).</summary>
    public string Database { get; }

    public IReadOnlyList<NodeProcess> Nodes { get; }

    public NodeProcess A => Nodes[0];

    public NodeProcess B => Nodes[1];

    /// <summary>The default pace: slow enough to act on a running answer, fast enough for a quick suite.</summary>
    public static Dictionary<string, string> SlowModel => new()
    {
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = "30",
        ["ChatPortal__Model__Simulated__ResponseTokens"] = "300",
        ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "600",
    };

    /// <param name="ownPostgres">Start a PostgreSQL for this cluster alone (to kill it) instead of a database on the shared one.</param>
    /// <param name="redis">Another Redis setup: the server's extra arguments and what the nodes add to its connection string.</param>
    public static async Task<Cluster> StartAsync(int nodes = 2, IDictionary<string, string>? settings = null, bool persistentRedis = false, bool ownPostgres = false,
        (IReadOnlyList<string> Arguments, string Connection, string KeyPrefix)? redis = null)
    {
        var redisStarting = RedisServer.StartAsync(persistentRedis, redis?.Arguments);
        var postgresStarting = ownPostgres ? PostgresServer.StartAsync() : PostgresServer.SharedAsync();
        RedisServer? server = null;
        PostgresServer? postgres = null;
        var starting = new List<Task<NodeProcess>>();
        try
        {
            server = await redisStarting;
            postgres = await postgresStarting;
            var database = PostgresServer.UniqueName("cluster");
            var connectionString = await postgres.CreateDatabaseAsync(database);
            var prefix = redis?.KeyPrefix ?? $"t{Guid.NewGuid():N}"[..9] + ":";
            starting.AddRange(Enumerable.Range(0, nodes).Select(i =>
            {
                var all = new Dictionary<string, string>(settings ?? SlowModel)
                {
                    ["ChatPortal__Redis"] = server.ConnectionString + (redis is { Connection: var extra } ? "," + extra : ""),
                    ["ChatPortal__KeyPrefix"] = prefix,
                    ["ChatPortal__Database__Provider"] = "Postgres",
                    ["ChatPortal__Database__ConnectionString"] = connectionString,
                };
                return NodeProcess.StartAsync($"node-{(char)('a' + i)}", all);
            }));
            return new Cluster(server, postgres, ownPostgres, database, await Task.WhenAll(starting));
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }

            if (server is not null)
            {
                await server.DisposeAsync();
            }

            if (ownPostgres && (postgres ?? (postgresStarting.IsCompletedSuccessfully ? postgresStarting.Result : null)) is { } own)
            {
                await own.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
        if (_ownsPostgres)
        {
            await Postgres.DisposeAsync();
        }
    }

    public static async Task<JsonElement> ReadyAsync(NodeProcess node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        return await http.GetFromJsonAsync<JsonElement>("readyz");
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting until {what}.");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>The cluster most multi-node tests share (tests that break Redis or kill nodes start their own).</summary>
public sealed class SharedCluster : IAsyncLifetime
{
    public Cluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await Cluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedCluster>
{
    public const string Name = "shared-cluster";
}
