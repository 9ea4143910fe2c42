using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatPortal.Testing;
using StackExchange.Redis;

namespace ChatPortal.E2E;

/// <summary>
/// Two nodes, node-a and node-b, sharing one real redis-server (persistent, so it can be killed and brought back
/// as a production Redis would come back) and one PostgreSQL database (the system of record), and one Chromium. Each answer streams for about 27 s (15 tokens/s,
/// 400 tokens): long enough to follow, stop and cancel it from the other node.
/// </summary>
public sealed class ClusterFixture : IBrowserFixture, IAsyncLifetime
{
    public const string NodeAId = "node-a";
    public const string NodeBId = "node-b";

    private readonly string _keyPrefix = "e2e" + Guid.NewGuid().ToString("N")[..8] + ":";
    private RedisServer? _redis;
    private PostgresServer? _postgres;
    private string? _databaseConnectionString;
    private NodeProcess? _a;
    private NodeProcess? _b;
    private Chromium? _chromium;

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("The fixture is not started.");

    public PostgresServer Postgres => _postgres ?? throw new InvalidOperationException("The fixture is not started.");

    /// <summary>The nodes' database on <see cref="Postgres"/>.</summary>
    public const string Database = "e2e";

    public NodeProcess A => _a ?? throw new InvalidOperationException("The fixture is not started.");

    public NodeProcess B => _b ?? throw new InvalidOperationException("The fixture is not started.");

    public IBrowser Browser => _chromium?.Browser ?? throw new InvalidOperationException("The fixture is not started.");

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(10_000);
        try
        {
            var chromium = Chromium.LaunchAsync();
            var postgres = PostgresServer.StartAsync();
            _redis = await RedisServer.StartAsync(persistent: true);
            _postgres = await postgres;
            _databaseConnectionString = await _postgres.CreateDatabaseAsync(Database);
            var a = NodeProcess.StartAsync(NodeAId, Settings());
            var b = NodeProcess.StartAsync(NodeBId, Settings());
            await Task.WhenAll(Capture(a, n => _a = n), Capture(b, n => _b = n), Capture(chromium, c => _chromium = c));
            await WaitUntilHealthyAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Brings Redis back if a test left it dead, and waits until both nodes use it again, so the next test starts
    /// on a whole cluster: /readyz Healthy on both (it pings over the command connection), and both subscribed to
    /// the coordination channels again as Redis itself counts them (the subscription connection reconnects on
    /// its own; until it has, what one node publishes, the other does not hear).
    /// </summary>
    public async Task EnsureHealthyAsync()
    {
        if (!Redis.IsRunning)
        {
            await Redis.RestartAsync();
        }

        await WaitUntilHealthyAsync();
    }

    /// <summary>Cancels every answer still running on any node, as the admin (<c>/api/admin/*</c>).</summary>
    public async Task CancelAllAsync()
    {
        using var http = new HttpClient { BaseAddress = A.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + NodeProcess.AdminPassword)));
        var tasks = await http.GetFromJsonAsync<JsonElement>("api/admin/tasks");
        foreach (var task in tasks.EnumerateArray())
        {
            using var response = await http.PostAsync($"api/admin/tasks/{task.GetProperty("taskId").GetString()}/cancel", null);
        }
    }

    private async Task WaitUntilHealthyAsync()
    {
        await WaitUntilReadyAsync();
        await WaitUntilSubscribedAsync();
    }

    private async Task WaitUntilSubscribedAsync()
    {
        string[] channels = [_keyPrefix + "cancel", _keyPrefix + "events", _keyPrefix + "follow"];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            // The channels are sharded; PUBSUB SHARDNUMSUB answers channel, count, channel, count…
            var answer = (RedisResult[])(await Redis.ExecuteAsync("PUBSUB", ["SHARDNUMSUB", .. channels]))!;
            var counts = answer.Where((_, i) => i % 2 == 1).Select(r => (long)r).ToArray();
            if (counts.All(n => n >= 2))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The nodes did not subscribe again: {string.Join(", ", channels.Zip(counts))}");
            }

            await Task.Delay(200);
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var node in (NodeProcess[])[A, B])
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                string? last;
                try
                {
                    var ready = await http.GetFromJsonAsync<JsonElement>(node.Url + "/readyz");
                    last = ready.GetRawText();
                    if (ready.GetProperty("status").GetString() == "Healthy" && !last.Contains("\"subscriptionAlive\":false", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
                catch (HttpRequestException ex)
                {
                    last = ex.Message;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{node.NodeId} did not become healthy: {last}\n{node.Log}");
                }

                await Task.Delay(200);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        foreach (var node in (NodeProcess?[])[_a, _b])
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
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

    private Dictionary<string, string> Settings() => new()
    {
        ["ChatPortal__Redis"] = Redis.ConnectionString,
        ["ChatPortal__KeyPrefix"] = _keyPrefix,
        ["ChatPortal__Database__Provider"] = "Postgres",
        ["ChatPortal__Database__ConnectionString"] = _databaseConnectionString ?? throw new InvalidOperationException("The fixture is not started."),
        ["ChatPortal__Model__Provider"] = "Simulated",
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = "15",
        ["ChatPortal__Model__Simulated__ResponseTokens"] = "400",

        // Every browser and API user of the suite comes from 127.0.0.1, and the dashboard test runs four answers
        // of one user at once: the limits (tested in ChatPortal.Tests) are lifted here.
        ["ChatPortal__Limits__MessagesPerMinutePerAddress"] = "100000",
        ["ChatPortal__Limits__ConcurrentAnswersPerUser"] = "10",
    };

    private static async Task Capture<T>(Task<T> start, Action<T> keep) => keep(await start);
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
