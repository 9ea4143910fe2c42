using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// A real cluster: one redis-server on a free port and N ChatPortal node processes sharing it, each
/// started from the publish folder as an operator would start it.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private Cluster(RedisServer redis, IReadOnlyList<NodeProcess> nodes)
    {
        Redis = redis;
        Nodes = nodes;
    }

    public RedisServer Redis { get; }

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

    public static async Task<Cluster> StartAsync(int nodes = 2, IDictionary<string, string>? settings = null, bool persistentRedis = false)
    {
        var redis = await RedisServer.StartAsync(persistentRedis);
        var prefix = $"t{Guid.NewGuid():N}"[..9] + ":";
        var started = await Task.WhenAll(Enumerable.Range(0, nodes).Select(i =>
        {
            var all = new Dictionary<string, string>(settings ?? SlowModel)
            {
                ["ChatPortal__Redis"] = redis.ConnectionString,
                ["ChatPortal__KeyPrefix"] = prefix,
            };
            return NodeProcess.StartAsync($"node-{(char)('a' + i)}", all);
        }));
        return new Cluster(redis, started);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
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
