using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// Cluster mode on a real 3-shard Redis Cluster (three <c>redis-server --cluster-enabled yes</c>): two node
/// processes list the cluster's nodes in <c>ChatPortal:Redis</c> and keep PostgreSQL as the store. Everything
/// that crosses nodes through Redis works as on one server: the sharded coordination channels (cancel,
/// lifecycle events, follow), presence, the cluster-wide limits, the task-events hub across nodes and the
/// persisted circuit cache.
/// </summary>
[Collection(StoreFaultCollection.Name)]
public sealed class RedisClusterTests(RedisClusterTests.NodesOnARedisCluster fixture) : IClassFixture<RedisClusterTests.NodesOnARedisCluster>
{
    private const int MessagesPerMinute = 4;

    private NodeProcess A => fixture.A;

    private NodeProcess B => fixture.B;

    public sealed class NodesOnARedisCluster : IAsyncLifetime
    {
        public RedisClusterServer Redis { get; private set; } = null!;

        public string Prefix { get; } = $"t{Guid.NewGuid():N}"[..9] + ":";

        public NodeProcess A { get; private set; } = null!;

        public NodeProcess B { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Redis = await RedisClusterServer.StartAsync(shards: 3);
            var postgres = await PostgresServer.SharedAsync();
            var settings = new Dictionary<string, string>(Cluster.SlowModel)
            {
                ["ChatPortal__Redis"] = Redis.ConnectionString,
                ["ChatPortal__KeyPrefix"] = Prefix,
                ["ChatPortal__Database__Provider"] = "Postgres",
                ["ChatPortal__Database__ConnectionString"] = await postgres.CreateDatabaseAsync(PostgresServer.UniqueName("rediscluster")),
                ["ChatPortal__Limits__MessagesPerMinute"] = MessagesPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };

            // The first node applies the migrations; then the second joins.
            A = await NodeProcess.StartAsync("node-a", settings);
            B = await NodeProcess.StartAsync("node-b", settings);
        }

        public async Task DisposeAsync()
        {
            if (A is not null)
            {
                await A.DisposeAsync();
            }

            if (B is not null)
            {
                await B.DisposeAsync();
            }

            if (Redis is not null)
            {
                await Redis.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OnARedisClusterEachCoordinationChannelIsShardedAndBothNodesSubscribeOnTheShardThatOwnsIt()
    {
        foreach (var channel in new[] { "cancel", "events", "follow" })
        {
            var name = fixture.Prefix + channel;
            await Cluster.EventuallyAsync(async () =>
            {
                var counts = await fixture.Redis.ShardSubscribersAsync(name);
                return counts.Values.Count(n => n > 0) == 1 && counts.Values.Sum() == 2;
            }, TimeSpan.FromSeconds(15), $"both nodes hold one sharded subscription to {name}, on one shard");
        }
    }

    [Fact]
    public async Task OnARedisClusterCancelFromAnotherNodeStopsTheGenerationOnTheFirstRequest()
    {
        var user = new ChatUser();
        using var a = user.On(A.BaseAddress);
        using var b = user.On(B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "a long answer on node a, stopped through node b");

        string? taskId = null;
        Task<HttpResponseMessage>? cancel = null;
        var deltas = 0;
        var stream = await StreamResult.ReadAsync(response, item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 8)
            {
                cancel = b.CancelAsync(taskId!);
            }

            return Task.CompletedTask;
        });

        using var answer = await cancel!;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("cancelled", "node-a"), (body.GetProperty("status").GetString(), body.GetProperty("ownerNode").GetString()));
        Assert.Equal("cancelled", stream.Status);
        Assert.InRange(stream.Events.Count(e => e.Name == "delta"), 8, 299);
        foreach (var api in new[] { a, b })
        {
            var stored = await LastMessageAsync(api, id);
            Assert.Equal("cancelled", stored.GetProperty("status").GetString());
            Assert.Equal(stream.Text, stored.GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task OnARedisClusterFollowingFromAnotherNodeReplaysTheTextSoFarThenContinuesLive()
    {
        var user = new ChatUser();
        using var a = user.On(A.BaseAddress);
        using var b = user.On(B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "follow me from b");

        string? taskId = null;
        var followerStarted = new TaskCompletionSource<Task<StreamResult>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deltas = 0;
        var streamed = await StreamResult.ReadAsync(response, item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 20)
            {
                followerStarted.SetResult(Task.Run(async () =>
                {
                    using var follow = await b.FollowAsync(taskId!);
                    Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
                    return await StreamResult.ReadAsync(follow);
                }));
            }

            return Task.CompletedTask;
        });
        var followed = await (await followerStarted.Task).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("completed", streamed.Status);
        Assert.Equal("completed", followed.Status);
        Assert.True(followed.Events[0].Get("text")!.Length > 0, "the first delta carries the text so far");
        Assert.True(followed.Events.Count(e => e.Name == "delta") > 2, "live deltas follow the snapshot");
        Assert.Equal(streamed.Text, followed.Text);
        Assert.Equal(streamed.Text, (await LastMessageAsync(b, id)).GetProperty("content").GetString());
    }

    [Fact]
    public async Task OnARedisClusterLifecycleEventsAndPresenceReachTheOtherNodeWhoseAdminListsAndCancelsTheRunningTask()
    {
        // Listen on the events channel as a third party: the nodes publish there with SPUBLISH.
        await using var listener = await fixture.Redis.ConnectAsync();
        var events = Channel.CreateUnbounded<JsonElement>();
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Sharded(fixture.Prefix + "events"),
            (_, value) => events.Writer.TryWrite(JsonDocument.Parse((string)value!).RootElement.Clone()));

        var user = new ChatUser();
        using var a = user.On(A.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "admin on b watches a");
        var taskId = await ReadTaskIdAsync(response);
        using var admin = new HttpClient { BaseAddress = B.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{NodeProcess.AdminPassword}")));

        var started = await NextEventAsync(events, taskId);
        Assert.Equal(("started", "node-a"), (started.GetProperty("kind").GetString(), started.GetProperty("task").GetProperty("node").GetString()));

        // Node b lists node a's task, with its token count from node a's heartbeat (presence keys on other shards).
        await Cluster.EventuallyAsync(async () =>
        {
            var tasks = await admin.GetFromJsonAsync<JsonElement>("api/admin/tasks");
            return tasks.EnumerateArray().Any(t => t.GetProperty("taskId").GetString() == taskId
                && t.GetProperty("node").GetString() == "node-a" && t.GetProperty("tokens").GetInt32() > 0);
        }, TimeSpan.FromSeconds(15), "node b's admin list shows node a's task with its tokens");

        var overview = await admin.GetFromJsonAsync<JsonElement>("api/admin/overview");
        Assert.Equal(["node-a", "node-b"], overview.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).Order());
        Assert.Equal("healthy", overview.GetProperty("redis").GetProperty("status").GetString());

        using var cancel = await admin.PostAsync($"api/admin/tasks/{taskId}/cancel", null);
        await AssertStoppedAsync(cancel);
        var ended = await NextEventAsync(events, taskId);
        Assert.Equal(("ended", "cancelled"), (ended.GetProperty("kind").GetString(), ended.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task OnARedisClusterAUsersTaskEventsReachTheirHubConnectionOnAnotherNode()
    {
        var user = new ChatUser();
        using var a = user.On(A.BaseAddress);
        var id = await a.CreateConversationAsync();
        var events = Channel.CreateUnbounded<JsonElement>();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(B.BaseAddress, "hubs/tasks"), options => options.Cookies = user.Cookies)
            .Build();
        hub.On<JsonElement>("taskEvent", e => events.Writer.TryWrite(e));
        await hub.StartAsync();

        using var response = await a.SendAsync(id, "tell my other devices");
        var taskId = await ReadTaskIdAsync(response);
        await AssertStoppedAsync(await a.CancelAsync(taskId));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var started = await events.Reader.ReadAsync(timeout.Token);
        var ended = await events.Reader.ReadAsync(timeout.Token);
        Assert.Equal(("started", taskId, "node-a"), (started.GetProperty("kind").GetString(), started.GetProperty("taskId").GetString(), started.GetProperty("node").GetString()));
        Assert.Equal(("ended", taskId, "cancelled"), (ended.GetProperty("kind").GetString(), ended.GetProperty("taskId").GetString(), ended.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task OnARedisClusterOneUserIsLimitedAcrossBothNodes()
    {
        var user = new ChatUser();
        using var a = user.On(A.BaseAddress);
        using var b = user.On(B.BaseAddress);

        // Alternating nodes: counted on one node each, no node would refuse; counted in the cluster, the fifth is refused.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i <= MessagesPerMinute; i++)
        {
            var api = i % 2 == 0 ? a : b;
            var id = await api.CreateConversationAsync();
            using var response = await api.SendAsync(id, "count me");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                await AssertStoppedAsync(await api.CancelAsync(await ReadTaskIdAsync(response)));
            }
            else
            {
                await AssertProblemAsync(response, HttpStatusCode.TooManyRequests, $"{MessagesPerMinute} messages");
            }
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, MessagesPerMinute), HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task OnARedisClusterPersistedCircuitStateIsWrittenToTheClusterAndReadBack()
    {
        // An in-process node (to reach its services) under a key prefix of its own: it does not join the two nodes.
        var postgres = await PostgresServer.SharedAsync();
        using var node = new ChatPortalNode("node-circuits", new Dictionary<string, string?>
        {
            ["ChatPortal:Redis"] = fixture.Redis.ConnectionString,
            ["ChatPortal:KeyPrefix"] = "circuits:",
            ["ChatPortal:Database:Provider"] = "Postgres",
            ["ChatPortal:Database:ConnectionString"] = await postgres.CreateDatabaseAsync(PostgresServer.UniqueName("node")),
        });
        node.StartServer();

        var cache = node.Services.GetRequiredService<IOptions<CircuitOptions>>().Value.HybridPersistenceCache!;
        await cache.SetAsync("cluster-probe", "circuit-state");

        // Read back from Redis (not the in-memory tier), and found on one of the shards under the prefix.
        var stored = await node.Services.GetRequiredService<IDistributedCache>().GetAsync("cluster-probe");
        Assert.NotNull(stored);
        await using var admin = await fixture.Redis.ConnectAsync();
        var keys = admin.GetServers().SelectMany(s => s.Keys(pattern: "*cluster-probe*")).Select(k => (string)k!).ToList();
        Assert.Contains(keys, k => k.StartsWith("circuits:cache:", StringComparison.Ordinal));
    }

    private static async Task<JsonElement> NextEventAsync(Channel<JsonElement> events, string taskId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var message = await events.Reader.ReadAsync(timeout.Token);
            if (message.GetProperty("task").GetProperty("taskId").GetString() == taskId)
            {
                return message;
            }
        }
    }
}
