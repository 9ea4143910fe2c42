using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// The fast path of a cluster through Redis, push not poll. Ownership is not decided here (the database's
/// claims do that); Redis only makes things fast, and may be wiped at any moment:
/// <list type="bullet">
/// <item>Start and end: one fire-and-forget PUBLISH each on the events channel. Nothing per chunk.</item>
/// <item>Stop from any node: one PUBLISH of the task id on the cancel channel, which every node subscribes to
/// once; the owner trips the task's token at once, and its end event is the acknowledgement. The database's
/// cancel request covers whatever pub/sub drops (picked up at the owner's next lease renewal, and at once on
/// every (re)subscription).</item>
/// <item>A watchdog pings the node's own subscription and rebuilds it when a ping does not come back.</item>
/// <item>Presence: one heartbeat per node every 2 s (not per task), with its tasks' token counts.</item>
/// <item>Follow: the owner publishes a task's text (snapshot, then 50 ms batches) only while someone follows.</item>
/// </list>
/// </summary>
public sealed partial class RedisTaskCoordinator : ITaskCoordinator, INodeDirectory, IHostedService, IDisposable
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan HeartbeatTtl = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan WatchdogInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan FollowBatchInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan FollowLease = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FollowRenewal = TimeSpan.FromSeconds(5);

    private readonly RedisConnection _redis;
    private readonly LocalTaskRegistry _registry;
    private readonly TaskLifecycleEvents _events;
    private readonly IConversationStore _store;
    private readonly NodeIdentity _node;
    private readonly NodeInstance _instance;
    private readonly NodeActivity _activity;
    private readonly CoordinationHealth _health;
    private readonly ChatPortalMetrics _metrics;
    private readonly ILogger<RedisTaskCoordinator> _logger;
    private readonly TaskEndWaiters _waiters = new();
    private readonly ConcurrentDictionary<string, FollowState> _followed = new(StringComparer.Ordinal);
    private readonly Channel<bool> _followStarted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, (TaskInfo Task, long ReceivedAt)> _remoteStarts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private IReadOnlyList<NodeHeartbeat> _lastBeats = [];
    private int _disposed;
    private string? _pingToken;
    private long _pingSentAt;
    private long _pingCount;

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
        _redis = redis;
        _registry = registry;
        _events = events;
        _store = store;
        _node = node;
        _instance = instance;
        _activity = activity;
        _health = health;
        _metrics = metrics;
        _logger = logger;
        redis.Restored += OnRestored;
        redis.SubscriptionRestored += OnSubscriptionRestored;
    }

    public bool IsDistributed => true;

    /// <summary>Number of times the watchdog found the subscription dead and rebuilt it.</summary>
    public int SubscriptionRebuilds { get; private set; }

    /// <summary>
    /// Raised when the cancel subscription was (re)established: Stops published meanwhile may be lost, so the
    /// owner re-reads its cancel requests from the database now rather than at its next lease renewal.
    /// </summary>
    public event Action? Resubscribed;

    private RedisKeys Keys => _redis.Keys;

    private IDatabase Db => _redis.Database;

    // ---------------------------------------------------------------- lifecycle events

    public RedisCost AnnounceStarted(TaskInfo task)
    {
        if (!_redis.IsAvailable)
        {
            return default;
        }

        Publish(Keys.EventsChannel, new LifecycleMessage(TaskLifecycleKind.Started, task, _instance.Id, GenerationStatus.Running, 0));
        return new RedisCost(1, 1);
    }

    public RedisCost AnnounceEnded(TaskInfo task, TaskEnded outcome, int tokens, double? cancelLatencyMs)
    {
        _waiters.Complete(task.TaskId, outcome);
        if (!_redis.IsAvailable)
        {
            return default;
        }

        // Followers first get the rest of the text and the end on the task's channel, then everyone hears of the
        // end. One connection keeps the order.
        var commands = 1;
        foreach (var (channel, message) in FinalStreamMessages(task.TaskId, outcome))
        {
            _redis.Subscriber.Publish(channel, message, CommandFlags.FireAndForget);
            commands++;
        }

        Publish(Keys.EventsChannel, new LifecycleMessage(TaskLifecycleKind.Ended, task, _instance.Id, outcome.Status, tokens, outcome.Reason, cancelLatencyMs));
        return new RedisCost(commands, 1);
    }

    private void Publish<T>(RedisChannel channel, T message)
    {
        try
        {
            _redis.Subscriber.Publish(channel, RedisJson.Serialize(message), CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.PublishFailed(_logger, ex, channel.ToString());
        }
    }

    private void OnEventMessage(RedisChannel channel, RedisValue value)
    {
        LifecycleMessage? message;
        try
        {
            message = RedisJson.Deserialize<LifecycleMessage>(value);
        }
        catch (System.Text.Json.JsonException ex)
        {
            Log.BadMessage(_logger, ex, channel.ToString());
            return;
        }

        if (message is null)
        {
            return;
        }

        if (message.Kind == TaskLifecycleKind.Ended)
        {
            _waiters.Complete(message.Task.TaskId, new TaskEnded(message.Status, message.Reason));
            _remoteStarts.TryRemove(message.Task.TaskId, out _);
        }

        if (message.Instance == _instance.Id)
        {
            return; // raised locally already
        }

        if (message.Kind == TaskLifecycleKind.Started)
        {
            _remoteStarts[message.Task.TaskId] = (message.Task, Environment.TickCount64);
        }

        _events.Raise(new TaskLifecycleEvent(message.Kind, message.Task, message.Status, message.Tokens, message.CancelLatencyMs));
    }

    // ---------------------------------------------------------------- cancel

    public TaskEndWaiter WaitForEnd(string taskId) => _waiters.Add(taskId);

    public RedisCost PushCancel(string taskId)
    {
        if (_registry.TryCancel(taskId) || !_redis.IsAvailable)
        {
            return default;
        }

        try
        {
            _redis.Subscriber.Publish(Keys.CancelChannel, taskId, CommandFlags.FireAndForget);
            return new RedisCost(1, 1);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.CancelNotSent(_logger, ex, taskId);
            return default;
        }
    }

    private void OnCancelMessage(RedisChannel channel, RedisValue value)
    {
        var text = (string?)value;
        if (text is null)
        {
            return;
        }

        if (text.StartsWith(CancelChannelFormat.PingPrefix, StringComparison.Ordinal))
        {
            if (text == _pingToken)
            {
                _pingToken = null;
                _health.SetSubscriptionAlive(true);
            }

            return;
        }

        if (_registry.TryCancel(text))
        {
            Log.CancelReceived(_logger, text);
        }
    }

    // ---------------------------------------------------------------- presence

    public IReadOnlyDictionary<string, int> RemoteTokenCounts()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var beat in _lastBeats)
        {
            if (beat.Instance == _instance.Id)
            {
                continue;
            }

            foreach (var task in beat.Tasks)
            {
                counts[task.Task.TaskId] = task.Tokens;
            }
        }

        return counts;
    }

    public async Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        var beats = await ReadHeartbeatsAsync().ConfigureAwait(false);
        return [.. beats
            .Where(b => b.Instance != _instance.Id && b.Node != _node.Id)
            .Select(b => new NodeStatus(b.Node, b.LastSeen, b.Tasks.Count, b.Circuits, b.SubscriptionAlive, b.Metrics))
            .Append(new NodeStatus(_node.Id, DateTimeOffset.UtcNow, _registry.Count, _activity.Circuits(), _health.SubscriptionAlive, _metrics.Snapshot()))
            .OrderBy(n => n.Id, StringComparer.Ordinal)];
    }

    /// <summary>The nodes that reported within the heartbeat TTL.</summary>
    internal async Task<IReadOnlyList<NodeHeartbeat>> ReadHeartbeatsAsync()
    {
        if (!_redis.IsAvailable)
        {
            return [];
        }

        try
        {
            var nodes = await Db.SetMembersAsync(Keys.Nodes).ConfigureAwait(false);
            var batch = Db.CreateBatch();
            var reads = nodes.Select(n => (Node: (string)n!, Read: batch.StringGetAsync(Keys.NodeAlive((string)n!)))).ToArray();
            batch.Execute();
            var beats = new List<NodeHeartbeat>(reads.Length);
            var gone = new List<RedisValue>();
            foreach (var (node, read) in reads)
            {
                if (RedisJson.Deserialize<NodeHeartbeat>(await read.ConfigureAwait(false)) is { } beat)
                {
                    beats.Add(beat);
                }
                else
                {
                    gone.Add(node);
                }
            }

            if (gone.Count > 0)
            {
                _ = Db.SetRemoveAsync(Keys.Nodes, [.. gone], CommandFlags.FireAndForget);
            }

            _lastBeats = beats;
            return beats;
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            return [];
        }
    }

    /// <summary>Running tasks of other nodes started since their owners' last heartbeat (from the events channel).</summary>
    internal IEnumerable<TaskInfo> RecentRemoteStarts()
    {
        var recent = Environment.TickCount64 - (long)(HeartbeatInterval.TotalMilliseconds * 2.5);
        foreach (var (taskId, (task, receivedAt)) in _remoteStarts)
        {
            if (receivedAt >= recent)
            {
                yield return task;
            }
            else
            {
                _remoteStarts.TryRemove(taskId, out _);
            }
        }
    }

    /// <summary>One batch per node every 2 s, however many tasks it runs.</summary>
    private async Task HeartbeatAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        var tasks = _registry.All.Select(t => new HeartbeatTask(t.Info, t.Tokens)).ToList();
        var beat = RedisJson.Serialize(new NodeHeartbeat(_node.Id, _instance.Id, DateTimeOffset.UtcNow, _health.SubscriptionAlive, _activity.Circuits(), tasks, _metrics.Snapshot()));
        try
        {
            var batch = Db.CreateBatch();
            var alive = batch.StringSetAsync(Keys.NodeAlive(_node.Id), beat, HeartbeatTtl);
            var member = batch.SetAddAsync(Keys.Nodes, _node.Id);
            batch.Execute();
            await Task.WhenAll(alive, member).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.HeartbeatFailed(_logger, ex);
        }

        // Keep other nodes' token counts fresh for the dashboard while someone reads them.
        await ReadHeartbeatsAsync().ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- follow

    public async IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_redis.IsAvailable)
        {
            await foreach (var item in EndFromStoreAsync(task, 0, waitForEnd: true, cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }

            yield break;
        }

        var inbox = Channel.CreateUnbounded<StreamMessage>(new UnboundedChannelOptions { SingleReader = true });
        var streamChannel = Keys.TaskStream(task.TaskId);
        Action<RedisChannel, RedisValue> handler = (_, value) =>
        {
            if (RedisJson.Deserialize<StreamMessage>(value) is { } message)
            {
                inbox.Writer.TryWrite(message);
            }
        };

        await _redis.Subscriber.SubscribeAsync(streamChannel, handler).ConfigureAwait(false);
        try
        {
            var request = RedisJson.Serialize(new FollowRequest(task.TaskId, _node.Id));
            await _redis.Subscriber.PublishAsync(Keys.FollowChannel, request).ConfigureAwait(false);
            var lastRequest = Environment.TickCount64;
            var received = 0;
            var quietChecks = 0;
            while (true)
            {
                StreamMessage? message = null;
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timeout.CancelAfter(TimeSpan.FromSeconds(1));
                    try
                    {
                        message = await inbox.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Quiet for a second: checked below.
                    }
                }

                if (message is null)
                {
                    // Quiet: the task may have ended before the owner saw our request, or its owner died.
                    if (++quietChecks % 2 == 1 && !await StillRunningAsync(task, cancellationToken).ConfigureAwait(false))
                    {
                        await foreach (var item in EndFromStoreAsync(task, received, waitForEnd: false, cancellationToken).ConfigureAwait(false))
                        {
                            yield return item;
                        }

                        yield break;
                    }
                }
                else if (message.Kind is StreamMessageKind.Snapshot or StreamMessageKind.Delta)
                {
                    quietChecks = 0;
                    var text = message.Text ?? "";
                    if (message.Offset > received)
                    {
                        // A batch went missing: ask for a fresh snapshot.
                        await _redis.Subscriber.PublishAsync(Keys.FollowChannel, request).ConfigureAwait(false);
                        lastRequest = Environment.TickCount64;
                    }
                    else if (message.Offset + text.Length > received)
                    {
                        var tail = text[(received - message.Offset)..];
                        received += tail.Length;
                        yield return new TaskDelta(tail);
                    }
                }
                else
                {
                    if (message.Offset > received)
                    {
                        await foreach (var item in EndFromStoreAsync(task, received, waitForEnd: false, cancellationToken).ConfigureAwait(false))
                        {
                            yield return item;
                        }

                        yield break;
                    }

                    yield return new TaskEnded(message.Status ?? GenerationStatus.Completed, message.Reason);
                    yield break;
                }

                if (Environment.TickCount64 - lastRequest > FollowRenewal.TotalMilliseconds)
                {
                    await _redis.Subscriber.PublishAsync(Keys.FollowChannel, request).ConfigureAwait(false);
                    lastRequest = Environment.TickCount64;
                }
            }
        }
        finally
        {
            try
            {
                await _redis.Subscriber.UnsubscribeAsync(streamChannel, handler).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                Log.UnsubscribeFailed(_logger, ex, streamChannel.ToString());
            }
        }
    }

    /// <summary>Whether the task still holds its conversation's claim (true when the database cannot tell).</summary>
    private async Task<bool> StillRunningAsync(TaskInfo task, CancellationToken cancellationToken)
    {
        try
        {
            return (await _store.FindActiveAnswerAsync(task.ConversationId, cancellationToken).ConfigureAwait(false))?.TaskId == task.TaskId;
        }
        catch (StoreUnavailableException)
        {
            return true;
        }
    }

    /// <summary>
    /// The end of a stream from the stored answer: what the follower has not seen yet, then the final state.
    /// With <paramref name="waitForEnd"/> (Redis down) it waits for the answer to be stored.
    /// </summary>
    private async IAsyncEnumerable<TaskStreamEvent> EndFromStoreAsync(TaskInfo task, int received, bool waitForEnd, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            StoredAnswer? answer = null;
            try
            {
                answer = await _store.FindAnswerAsync(task.ConversationId, task.TaskId, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreUnavailableException) when (waitForEnd)
            {
                // Keep waiting: the database is back soon, or the reader goes away.
            }

            if (answer is not null)
            {
                if (answer.Message.Content.Length > received)
                {
                    yield return new TaskDelta(answer.Message.Content[received..]);
                }

                yield return new TaskEnded(GenerationEngine.ToGenerationStatus(answer.Message.Status), answer.Message.Error);
                yield break;
            }

            if (!waitForEnd)
            {
                yield return new TaskEnded(GenerationStatus.Failed, "The node generating this answer stopped before it was stored.");
                yield break;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private void OnFollowMessage(RedisChannel channel, RedisValue value)
    {
        var request = RedisJson.Deserialize<FollowRequest>(value);
        if (request is null || _registry.Find(request.TaskId) is not { } task)
        {
            return;
        }

        var state = _followed.GetOrAdd(request.TaskId, _ => new FollowState());
        _followStarted.Writer.TryWrite(true);
        lock (state)
        {
            state.LeaseUntil = Environment.TickCount64 + (long)FollowLease.TotalMilliseconds;
            var text = task.Text;
            state.Offset = text.Length;
            PublishStream(task.Id, new StreamMessage(StreamMessageKind.Snapshot, 0, text));
        }
    }

    /// <summary>Every 50 ms: the new text of each followed task, in one message per task. Idle when nobody follows.</summary>
    private void PublishFollowedBatches()
    {
        if (_followed.IsEmpty || !_redis.IsAvailable)
        {
            return;
        }

        var now = Environment.TickCount64;
        foreach (var (taskId, state) in _followed)
        {
            var task = _registry.Find(taskId);
            lock (state)
            {
                if (task is null || now > state.LeaseUntil)
                {
                    _followed.TryRemove(taskId, out _);
                    continue;
                }

                var delta = task.TextFrom(state.Offset);
                if (delta.Length > 0)
                {
                    PublishStream(taskId, new StreamMessage(StreamMessageKind.Delta, state.Offset, delta));
                    state.Offset += delta.Length;
                }
            }
        }
    }

    /// <summary>
    /// Publishes followed tasks' batches every 50 ms while anyone follows, and sleeps until a follow request
    /// comes otherwise: an idle 50 ms timer woke a thread-pool thread 20 times a second on every node.
    /// </summary>
    private async Task FollowBatchLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                if (_followed.IsEmpty)
                {
                    await _followStarted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }

                await Task.Delay(FollowBatchInterval, cancellationToken).ConfigureAwait(false);
                try
                {
                    PublishFollowedBatches();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.LoopFailed(_logger, ex, nameof(PublishFollowedBatches));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>The rest of a followed task's text and its end.</summary>
    private IReadOnlyList<(RedisChannel, string)> FinalStreamMessages(string taskId, TaskEnded outcome)
    {
        if (!_followed.TryRemove(taskId, out var state) || _registry.Find(taskId) is not { } task)
        {
            return [];
        }

        lock (state)
        {
            var channel = Keys.TaskStream(taskId);
            var delta = task.TextFrom(state.Offset);
            var end = RedisJson.Serialize(new StreamMessage(StreamMessageKind.End, state.Offset + delta.Length, null, outcome.Status, outcome.Reason));
            return delta.Length > 0
                ? [(channel, RedisJson.Serialize(new StreamMessage(StreamMessageKind.Delta, state.Offset, delta))), (channel, end)]
                : [(channel, end)];
        }
    }

    private void PublishStream(string taskId, StreamMessage message) => Publish(Keys.TaskStream(taskId), message);

    // ---------------------------------------------------------------- background work

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await SubscribeAsync().ConfigureAwait(false);
        var token = _stopping.Token;
        _loops.Add(Loop(HeartbeatInterval, HeartbeatAsync, token));
        _loops.Add(Loop(WatchdogInterval, WatchdogAsync, token));
        _loops.Add(FollowBatchLoopAsync(token));
        await HeartbeatAsync().ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        if (_redis.IsAvailable)
        {
            try
            {
                // A graceful stop: leave the cluster's presence now rather than by TTL.
                await Db.KeyDeleteAsync(Keys.NodeAlive(_node.Id)).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                Log.HeartbeatFailed(_logger, ex);
            }
        }
    }

    private async Task SubscribeAsync()
    {
        try
        {
            var subscriber = _redis.Subscriber;
            await subscriber.SubscribeAsync(Keys.CancelChannel, OnCancelMessage).ConfigureAwait(false);
            await subscriber.SubscribeAsync(Keys.EventsChannel, OnEventMessage).ConfigureAwait(false);
            await subscriber.SubscribeAsync(Keys.FollowChannel, OnFollowMessage).ConfigureAwait(false);
            Resubscribed?.Invoke();
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.SubscribeFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Proves the cancel subscription alive with a message addressed to itself; a ping that does not come
    /// back within an interval means a dead listener, which is rebuilt.
    /// </summary>
    private async Task WatchdogAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        if (_pingToken is not null && Environment.TickCount64 - _pingSentAt > WatchdogInterval.TotalMilliseconds)
        {
            _health.SetSubscriptionAlive(false);
            SubscriptionRebuilds++;
            Log.SubscriptionDead(_logger, SubscriptionRebuilds);
            try
            {
                var subscriber = _redis.Subscriber;
                await subscriber.UnsubscribeAsync(Keys.CancelChannel, OnCancelMessage).ConfigureAwait(false);
                await subscriber.UnsubscribeAsync(Keys.EventsChannel, OnEventMessage).ConfigureAwait(false);
                await subscriber.UnsubscribeAsync(Keys.FollowChannel, OnFollowMessage).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                Log.UnsubscribeFailed(_logger, ex, Keys.CancelChannel.ToString());
            }

            await SubscribeAsync().ConfigureAwait(false);
        }

        var token = $"{CancelChannelFormat.PingPrefix}{_instance.Id}:{Interlocked.Increment(ref _pingCount)}";
        _pingToken = token;
        _pingSentAt = Environment.TickCount64;
        try
        {
            await _redis.Subscriber.PublishAsync(Keys.CancelChannel, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            _pingToken = null;
        }
    }

    private void OnRestored() => _ = HeartbeatAsync();

    private void OnSubscriptionRestored() => Resubscribed?.Invoke();

    private async Task Loop(TimeSpan interval, Func<Task> work, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await work().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.LoopFailed(_logger, ex, work.Method.Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public void Dispose()
    {
        // Resolved as itself, as ITaskCoordinator, as INodeDirectory and as a hosted service.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _redis.Restored -= OnRestored;
        _redis.SubscriptionRestored -= OnSubscriptionRestored;
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class FollowState
    {
        public long LeaseUntil { get; set; }

        public int Offset { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(2203, LogLevel.Debug, "Cancel of task {TaskId} received.")]
        public static partial void CancelReceived(ILogger logger, string taskId);

        [LoggerMessage(2206, LogLevel.Warning, "The Stop of task {TaskId} could not be pushed; the owner reads it from the database.")]
        public static partial void CancelNotSent(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(2207, LogLevel.Warning, "Subscribing to the coordination channels failed; the watchdog retries.")]
        public static partial void SubscribeFailed(ILogger logger, Exception exception);

        [LoggerMessage(2208, LogLevel.Warning, "The cancel subscription did not deliver the watchdog's ping; rebuilding it (rebuild {Count}).")]
        public static partial void SubscriptionDead(ILogger logger, int count);

        [LoggerMessage(2210, LogLevel.Error, "Background work {Work} failed.")]
        public static partial void LoopFailed(ILogger logger, Exception exception, string work);

        [LoggerMessage(2211, LogLevel.Debug, "Publishing on {Channel} failed.")]
        public static partial void PublishFailed(ILogger logger, Exception exception, string channel);

        [LoggerMessage(2212, LogLevel.Debug, "A message on {Channel} could not be read.")]
        public static partial void BadMessage(ILogger logger, Exception exception, string channel);

        [LoggerMessage(2213, LogLevel.Debug, "Unsubscribing from {Channel} failed.")]
        public static partial void UnsubscribeFailed(ILogger logger, Exception exception, string channel);

        [LoggerMessage(2214, LogLevel.Debug, "The heartbeat could not be written.")]
        public static partial void HeartbeatFailed(ILogger logger, Exception exception);
    }
}
