using System.Diagnostics.Metrics;
using System.Reflection;
using ChatPortal.Core;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Redis;
using ChatPortal.Core.Tasks;
using ChatPortal.Core.Telemetry;
using ChatPortal.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// The Redis coordinator's parts, each on its own against a real redis-server: no app, no database, two
/// "nodes" that are two sets of parts on two connections.
/// </summary>
public sealed class CoordinatorPartsTests
{
    [Fact]
    public async Task AStopPushedByOneBusTripsTheTaskRegisteredInAnotherNodesRegistry()
    {
        await using var redis = await RedisServer.StartAsync();
        using var a = await PartsNode.StartAsync(redis, "a");
        using var b = await PartsNode.StartAsync(redis, "b");
        using var task = b.Run("task-1");

        var cost = a.Cancel.PushCancel(task.Id, "user");

        Assert.Equal(new RedisCost(1, 1), cost);
        await Cluster.EventuallyAsync(() => Task.FromResult(task.CancelRequested), TimeSpan.FromSeconds(5), "the task on b is cancelled");
    }

    [Fact]
    public async Task AStopPushedInAnotherUsersNameDoesNotTripTheTaskButAnAdminsDoes()
    {
        // The push goes out before the database has checked whose task it is: the owner checks.
        await using var redis = await RedisServer.StartAsync();
        using var a = await PartsNode.StartAsync(redis, "a");
        using var b = await PartsNode.StartAsync(redis, "b");
        using var task = b.Run("task-1");
        using var marker = b.Run("task-2");

        a.Cancel.PushCancel(task.Id, "mallory");
        a.Cancel.PushCancel(marker.Id, "user");
        await Cluster.EventuallyAsync(() => Task.FromResult(marker.CancelRequested), TimeSpan.FromSeconds(5), "the later Stop on b arrived");
        Assert.False(task.CancelRequested, "another user's Stop tripped the task");

        a.Cancel.PushCancel(task.Id, userId: null);
        await Cluster.EventuallyAsync(() => Task.FromResult(task.CancelRequested), TimeSpan.FromSeconds(5), "the admin's Stop trips the task");
    }

    [Fact]
    public async Task TheWatchdogFindsAKilledPubSubConnectionAndTheSubscriptionComesBack()
    {
        await using var redis = await RedisServer.StartAsync();
        using var a = await PartsNode.StartAsync(redis, "a");
        using var b = await PartsNode.StartAsync(redis, "b");
        await a.Watchdog.StartAsync(CancellationToken.None);
        var resubscribed = 0;
        a.Subscriptions.Resubscribed += () => Interlocked.Increment(ref resubscribed);

        var killed = (long)await redis.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        Assert.True(killed >= 2, $"killed {killed} pub/sub connections");

        await Cluster.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref resubscribed) > 0), TimeSpan.FromSeconds(15), "Resubscribed raised");
        await Cluster.EventuallyAsync(() => Task.FromResult(a.Health.SubscriptionAlive), TimeSpan.FromSeconds(15), "a's ping comes back");

        // Listening again: a Stop from b lands on a.
        using var task = a.Run("task-2");
        await Cluster.EventuallyAsync(() =>
        {
            b.Cancel.PushCancel(task.Id, "user");
            return Task.FromResult(task.CancelRequested);
        }, TimeSpan.FromSeconds(15), "the task on a is cancelled");
        await a.Watchdog.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AFollowRelayReplaysTheSnapshotThenTheDeltasThenTheEnd()
    {
        await using var redis = await RedisServer.StartAsync();
        using var owner = await PartsNode.StartAsync(redis, "owner");
        using var follower = await PartsNode.StartAsync(redis, "follower");
        await owner.Follow.StartAsync(CancellationToken.None);
        using var task = owner.Run("task-3");
        task.Append("Hello ");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var stream = follower.Follow.FollowRemoteAsync(task.Info, timeout.Token).GetAsyncEnumerator(timeout.Token);

        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(new TaskDelta("Hello "), stream.Current);

        task.Append("world");
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(new TaskDelta("world"), stream.Current);

        task.Append("!");
        owner.Lifecycle.AnnounceEnded(task.Info, new TaskEnded(GenerationStatus.Completed, null), 3, null);
        var rest = new List<TaskStreamEvent>();
        while (await stream.MoveNextAsync())
        {
            rest.Add(stream.Current);
        }

        // The last text comes either in a batch or with the end; either way once, then the end.
        Assert.Equal("!", string.Concat(rest.OfType<TaskDelta>().Select(d => d.Text)));
        Assert.Equal(new TaskEnded(GenerationStatus.Completed, null), rest[^1]);
        await owner.Follow.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AnEndedEventFromAnotherNodeIsRaisedAndCompletesItsWaiters()
    {
        await using var redis = await RedisServer.StartAsync();
        using var a = await PartsNode.StartAsync(redis, "a");
        using var b = await PartsNode.StartAsync(redis, "b");
        var seen = new List<TaskLifecycleEvent>();
        using var listening = a.Events.Subscribe(e =>
        {
            lock (seen)
            {
                seen.Add(e);
            }
        });
        var info = new TaskInfo("task-4", "conversation", "user", "b", DateTimeOffset.UtcNow);
        using var waiter = a.Lifecycle.WaitForEnd(info.TaskId);

        b.Lifecycle.AnnounceStarted(info);
        await Cluster.EventuallyAsync(() => Task.FromResult(a.Lifecycle.RecentRemoteStarts().Any(t => t.TaskId == info.TaskId)),
            TimeSpan.FromSeconds(5), "a remembers b's start");
        b.Lifecycle.AnnounceEnded(info, new TaskEnded(GenerationStatus.Cancelled, null), 7, 12.5);

        Assert.Equal(new TaskEnded(GenerationStatus.Cancelled, null), await waiter.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(a.Lifecycle.RecentRemoteStarts());
        lock (seen)
        {
            Assert.Equal([TaskLifecycleKind.Started, TaskLifecycleKind.Ended], seen.Select(e => e.Kind));
        }
    }

    [Fact]
    public async Task PresenceListsBothNodesWithTheirTasks()
    {
        await using var redis = await RedisServer.StartAsync();
        using var a = await PartsNode.StartAsync(redis, "a");
        using var b = await PartsNode.StartAsync(redis, "b");
        using var task = b.Run("task-5");
        task.Append("one");
        task.Append("two");

        await a.Presence.HeartbeatAsync();
        await b.Presence.HeartbeatAsync();

        var nodes = await a.Presence.ListNodesAsync();
        Assert.Equal(["a", "b"], nodes.Select(n => n.Id));
        Assert.Equal(1, nodes.Single(n => n.Id == "b").ActiveTasks);
        Assert.Equal(2, a.Presence.RemoteTokenCounts()[task.Id]);

        // A graceful stop leaves at once, not by TTL.
        await b.Presence.LeaveAsync();
        Assert.Equal(["a"], (await a.Presence.ListNodesAsync()).Select(n => n.Id));
    }

    /// <summary>One node's parts, wired as <see cref="RedisTaskCoordinator"/> wires them, subscribed.</summary>
    private sealed class PartsNode : IDisposable
    {
        private readonly RedisConnection _redis;
        private readonly ChatPortalMetrics _metrics;

        private PartsNode(RedisServer server, string nodeId)
        {
            var node = new NodeIdentity(nodeId);
            var instance = new NodeInstance();
            var logger = NullLogger.Instance;
            _redis = new RedisConnection(Options.Create(new ChatPortalOptions { Redis = server.ConnectionString, KeyPrefix = "parts:" }), node, Health, NullLogger<RedisConnection>.Instance);
            _metrics = new ChatPortalMetrics(new TestMeterFactory(), Registry, Health);
            Follow = new RedisFollowRelay(_redis, Registry, UnreachableStore.Create(), node, logger);
            Lifecycle = new RedisLifecycleEvents(_redis, Events, instance, Follow, logger);
            Cancel = new RedisCancelBus(_redis, Registry, logger);
            Presence = new RedisPresence(_redis, Registry, node, instance, new NodeActivity(), Health, _metrics, logger);
            Subscriptions = new RedisSubscriptions(_redis, Cancel, Lifecycle, Follow, logger);
            Watchdog = new RedisSubscriptionWatchdog(_redis, Subscriptions, Cancel, instance, Health, logger);
        }

        public CoordinationHealth Health { get; } = new();

        public LocalTaskRegistry Registry { get; } = new();

        public TaskLifecycleEvents Events { get; } = new();

        public RedisFollowRelay Follow { get; }

        public RedisLifecycleEvents Lifecycle { get; }

        public RedisCancelBus Cancel { get; }

        public RedisPresence Presence { get; }

        public RedisSubscriptions Subscriptions { get; }

        public RedisSubscriptionWatchdog Watchdog { get; }

        public static async Task<PartsNode> StartAsync(RedisServer server, string nodeId)
        {
            var node = new PartsNode(server, nodeId);
            await node.Subscriptions.SubscribeAsync();
            return node;
        }

        /// <summary>A running task in this node's registry.</summary>
        public GenerationTask Run(string taskId)
        {
            var task = new GenerationTask(new TaskInfo(taskId, $"conversation-{taskId}", "user", "node", DateTimeOffset.UtcNow));
            Registry.Add(task);
            return task;
        }

        public void Dispose()
        {
            Watchdog.Dispose();
            Subscriptions.Dispose();
            Presence.Dispose();
            Follow.Dispose();
            _metrics.Dispose();
            _redis.Dispose();
        }
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
            // The meters die with the test.
        }
    }

    /// <summary>A store whose database is always unreachable (the relay then trusts the stream).</summary>
    public class UnreachableStore : DispatchProxy
    {
        public static IConversationStore Create() => Create<IConversationStore, UnreachableStore>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            throw new StoreUnavailableException(targetMethod?.Name ?? "This");
    }
}
