using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Tasks;
using ChatPortal.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Core.Redis;

/// <summary>
/// The fast path of a cluster through Redis, push not poll. Ownership is not decided here (the database's
/// claims do that); Redis only makes things fast, and may be wiped at any moment. A thin front over one part
/// per job (in <c>Internal/</c>):
/// <list type="bullet">
/// <item><see cref="RedisLifecycleEvents"/>: start and end, one fire-and-forget PUBLISH each on the events channel.
/// Nothing per chunk.</item>
/// <item><see cref="RedisCancelBus"/>: Stop from any node, one PUBLISH of the task id on the cancel channel, which
/// every node subscribes to once; the owner trips the task's token at once, and its end event is the
/// acknowledgement. The database's cancel request covers whatever pub/sub drops (picked up at the owner's next
/// lease renewal, and at once on every (re)subscription).</item>
/// <item><see cref="RedisSubscriptionWatchdog"/>: pings the node's own subscription and rebuilds it when a ping
/// does not come back.</item>
/// <item><see cref="RedisPresence"/>: one heartbeat per node every 2 s (not per task), with its tasks' token counts.</item>
/// <item><see cref="RedisFollowRelay"/>: the owner publishes a task's text (snapshot, then 50 ms batches) only while
/// someone follows.</item>
/// <item><see cref="RedisSubscriptions"/>: the three channels, subscribed once per node.</item>
/// </list>
/// The parts share this class's logger category and are started and stopped with it.
/// </summary>
public sealed class RedisTaskCoordinator : ITaskCoordinator, INodeDirectory, IHostedService, IDisposable
{
    public static readonly TimeSpan HeartbeatInterval = RedisPresence.Interval;
    public static readonly TimeSpan HeartbeatTtl = RedisPresence.Ttl;
    public static readonly TimeSpan WatchdogInterval = RedisSubscriptionWatchdog.Interval;
    public static readonly TimeSpan FollowBatchInterval = RedisFollowRelay.BatchInterval;

    private readonly RedisLifecycleEvents _lifecycle;
    private readonly RedisCancelBus _cancel;
    private readonly RedisFollowRelay _follow;
    private readonly RedisPresence _presence;
    private readonly RedisSubscriptions _subscriptions;
    private readonly RedisSubscriptionWatchdog _watchdog;
    private int _disposed;

    public RedisTaskCoordinator(
        RedisConnection redis,
        LocalTaskRegistry registry,
        TaskLifecycleEvents events,
        IConversationStore store,
        NodeIdentity node,
        NodeInstance instance,
        NodeActivity activity,
        CoordinationHealth health,
        ChatPortalMetrics metrics,
        ILogger<RedisTaskCoordinator> logger)
    {
        _follow = new RedisFollowRelay(redis, registry, store, node, logger);
        _lifecycle = new RedisLifecycleEvents(redis, events, instance, _follow, logger);
        _cancel = new RedisCancelBus(redis, registry, logger);
        _presence = new RedisPresence(redis, registry, node, instance, activity, health, metrics, logger);
        _subscriptions = new RedisSubscriptions(redis, _cancel, _lifecycle, _follow, logger);
        _watchdog = new RedisSubscriptionWatchdog(redis, _subscriptions, _cancel, instance, health, logger);
    }

    public bool IsDistributed => true;

    /// <summary>Number of times the watchdog found the subscription dead and rebuilt it.</summary>
    public int SubscriptionRebuilds => _watchdog.Rebuilds;

    /// <summary>
    /// Raised when the cancel subscription was (re)established: Stops published meanwhile may be lost, so the
    /// owner re-reads its cancel requests from the database now rather than at its next lease renewal.
    /// </summary>
    public event Action? Resubscribed
    {
        add => _subscriptions.Resubscribed += value;
        remove => _subscriptions.Resubscribed -= value;
    }

    public RedisCost AnnounceStarted(TaskInfo task) => _lifecycle.AnnounceStarted(task);

    public RedisCost AnnounceEnded(TaskInfo task, TaskEnded outcome, int tokens, double? cancelLatencyMs) =>
        _lifecycle.AnnounceEnded(task, outcome, tokens, cancelLatencyMs);

    public TaskEndWaiter WaitForEnd(string taskId) => _lifecycle.WaitForEnd(taskId);

    public RedisCost PushCancel(string taskId, string? userId) => _cancel.PushCancel(taskId, userId);

    public IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, CancellationToken cancellationToken = default) =>
        _follow.FollowRemoteAsync(task, cancellationToken);

    public IReadOnlyDictionary<string, int> RemoteTokenCounts() => _presence.RemoteTokenCounts();

    public Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken = default) => _presence.ListNodesAsync();

    /// <summary>The nodes that reported within the heartbeat TTL.</summary>
    internal Task<IReadOnlyList<NodeHeartbeat>> ReadHeartbeatsAsync() => _presence.ReadHeartbeatsAsync();

    /// <summary>Running tasks of other nodes started since their owners' last heartbeat (from the events channel).</summary>
    internal IEnumerable<TaskInfo> RecentRemoteStarts() => _lifecycle.RecentRemoteStarts();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _subscriptions.SubscribeAsync().ConfigureAwait(false);

        // The loops run until StopAsync (or Dispose), not until the start-up token is cancelled.
        await _presence.StartAsync(CancellationToken.None).ConfigureAwait(false);
        await _watchdog.StartAsync(CancellationToken.None).ConfigureAwait(false);
        await _follow.StartAsync(CancellationToken.None).ConfigureAwait(false);
        await _presence.HeartbeatAsync().ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            _presence.StopAsync(CancellationToken.None),
            _watchdog.StopAsync(CancellationToken.None),
            _follow.StopAsync(CancellationToken.None)).ConfigureAwait(false);
        await _presence.LeaveAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        // Resolved as itself, as ITaskCoordinator, as INodeDirectory and as a hosted service.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _subscriptions.Dispose();
        _watchdog.Dispose();
        _presence.Dispose();
        _follow.Dispose();
    }
}
