using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Coordination of a cluster through Redis, push not poll:
/// <list type="bullet">
/// <item>Start: SET NX claims the conversation (1 round trip); once the question is stored, one PUBLISH
/// announces the task (fire and forget).</item>
/// <item>End: release the claim and announce the final state: 1 round trip. Nothing per chunk.</item>
/// <item>Cancel from any node: a durable flag + one PUBLISH on the cancel channel, which every node
/// subscribes to once. The owner trips the task's token at once; its end event is the acknowledgement.</item>
/// <item>Flags are re-checked in one batch whenever the subscription is (re)established; a watchdog pings
/// the node's own subscription and rebuilds it when a ping does not come back.</item>
/// <item>Liveness: one heartbeat per node every 2 s (not per task); a dead node's claims are released.</item>
/// <item>Follow: the owner publishes a task's text (snapshot, then 50 ms batches) only while someone follows.</item>
/// </list>
/// </summary>
public sealed partial class RedisTaskCoordinator : ITaskCoordinator, IHostedService, IDisposable
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan HeartbeatTtl = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan JanitorInterval = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan WatchdogInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan FollowBatchInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ClaimSafetyTtl = TimeSpan.FromHours(12);
    private static readonly TimeSpan CancelFlagTtl = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan FollowLease = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FollowRenewal = TimeSpan.FromSeconds(5);

    // KEYS[1] claim; ARGV[1] the claim json it must still hold; ARGV[2] channel; ARGV[3] event. Returns 1 when released.
    private const string ReleaseScript = """
        local released = 0
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          released = 1
        end
        if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
        return released
        """;

    private readonly RedisConnection _redis;
    private readonly LocalTaskRegistry _registry;
    private readonly TaskLifecycleEvents _events;
    private readonly IConversationStore _store;
    private readonly NodeIdentity _node;
    private readonly CoordinationHealth _health;
    private readonly ILogger<RedisTaskCoordinator> _logger;
    private readonly Telemetry.ChatPortalMetrics _metrics;
    private readonly string _instance = Ids.NewMessageId();
    private readonly InMemoryTaskCoordinator _degraded;
    private readonly ConcurrentDictionary<string, Registration> _registrations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<TaskCompletionSource<TaskEnded>>> _cancelWaiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FollowState> _followed = new(StringComparer.Ordinal);
    private readonly Channel<bool> _followStarted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, (RunningTask Task, long ReceivedAt)> _remoteStarts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<PendingRelease> _pendingReleases = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private int _epoch;
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
        CoordinationHealth health,
        Telemetry.ChatPortalMetrics metrics,
        ILogger<RedisTaskCoordinator> logger)
    {
        _metrics = metrics;
        _redis = redis;
        _registry = registry;
        _events = events;
        _store = store;
        _node = node;
        _health = health;
        _logger = logger;
        _degraded = new InMemoryTaskCoordinator(registry);
        redis.Restored += OnRestored;
        redis.SubscriptionRestored += () => _ = CheckCancelFlagsAsync("subscription restored");
    }

    public bool IsDistributed => true;

    /// <summary>This process's incarnation: a node restarted under the same name is a new instance.</summary>
    public string Instance => _instance;

    /// <summary>Number of times the watchdog found the subscription dead and rebuilt it.</summary>
    public int SubscriptionRebuilds { get; private set; }

    /// <summary>Local circuits, reported in the heartbeat (set by the web layer).</summary>
    public Func<int> CircuitCount { get; set; } = () => 0;

    private RedisKeys Keys => _redis.Keys;

    private IDatabase Db => _redis.Database;

    // ---------------------------------------------------------------- start and end

    public async Task<ClaimResult> RegisterAsync(TaskInfo task, CancellationToken cancellationToken = default)
    {
        // The local claim always: it keeps one task per conversation on this node even while Redis is away.
        var local = await _degraded.RegisterAsync(task, cancellationToken).ConfigureAwait(false);
        if (!local.Claimed)
        {
            return local;
        }

        var registration = new Registration(RedisJson.Serialize(new TaskClaim(task, _instance)), Volatile.Read(ref _epoch));
        _registrations[task.TaskId] = registration;
        if (!_redis.IsAvailable)
        {
            return ClaimResult.Success;
        }

        try
        {
            var existing = await ClaimAsync(task, registration).ConfigureAwait(false);
            if (existing is null)
            {
                return ClaimResult.Success with { Cost = new RedisCost(1, 1) };
            }

            // Taken: by a live task, or by a task of a node that died (then take it over once).
            var holder = RedisJson.Deserialize<TaskClaim>(existing);
            if (holder is not null && !await IsAliveAsync(holder).ConfigureAwait(false))
            {
                // Do the janitor's work now rather than make the user wait for it.
                await ReleaseDeadTaskAsync(holder.Task, holder.Instance).ConfigureAwait(false);
                existing = await ClaimAsync(task, registration).ConfigureAwait(false);
                if (existing is null)
                {
                    return ClaimResult.Success with { Cost = new RedisCost(7, 5) };
                }

                holder = RedisJson.Deserialize<TaskClaim>(existing);
            }

            Forget(task);
            return ClaimResult.Conflict(holder?.Task);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.DegradedStart(_logger, ex, task.TaskId);
            return ClaimResult.Success;
        }
    }

    /// <summary>SET NX of the claim: null when claimed, else the current claim (read in a second round trip).</summary>
    private async Task<string?> ClaimAsync(TaskInfo task, Registration registration)
    {
        var key = Keys.ConversationTask(task.ConversationId);
        if (await Db.StringSetAsync(key, registration.Claim, ClaimSafetyTtl, When.NotExists).ConfigureAwait(false))
        {
            registration.InRedis = true;
            return null;
        }

        return (string?)await Db.StringGetAsync(key).ConfigureAwait(false) ?? "";
    }

    public RedisCost AnnounceStarted(TaskInfo task)
    {
        if (!_redis.IsAvailable || !_registrations.TryGetValue(task.TaskId, out var registration) || !registration.InRedis)
        {
            return default; // announced when Redis is back (ReplayAsync)
        }

        PublishStarted(task);
        return new RedisCost(1, 1);
    }

    private void PublishStarted(TaskInfo task)
    {
        var started = RedisJson.Serialize(new LifecycleMessage(TaskLifecycleKind.Started, task, _instance, GenerationStatus.Running, 0));
        _redis.Subscriber.Publish(Keys.EventsChannel, started, CommandFlags.FireAndForget);
    }

    public async Task<RedisCost> CompleteAsync(TaskInfo task, TaskEnded outcome, int tokens, CancellationToken cancellationToken = default)
    {
        await _degraded.CompleteAsync(task, outcome, tokens, cancellationToken).ConfigureAwait(false);
        if (!_registrations.TryRemove(task.TaskId, out var registration))
        {
            return default;
        }

        var ended = RedisJson.Serialize(new LifecycleMessage(TaskLifecycleKind.Ended, task, _instance, outcome.Status, tokens, outcome.Reason,
            _registry.Find(task.TaskId)?.CancelLatency?.TotalMilliseconds));
        var release = new PendingRelease(task, registration, ended);
        CompleteWaiters(task.TaskId, outcome);
        if (!_redis.IsAvailable)
        {
            _pendingReleases.Enqueue(release);
            return default;
        }

        try
        {
            return await ReleaseAsync(release, FinalStreamMessages(task.TaskId, outcome)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.DeferredRelease(_logger, ex, task.TaskId);
            _pendingReleases.Enqueue(release);
            return default;
        }
    }

    private async Task<RedisCost> ReleaseAsync(PendingRelease release, IReadOnlyList<(RedisChannel Channel, string Message)> streamEnd)
    {
        var (task, registration, ended) = release;
        var claimKey = Keys.ConversationTask(task.ConversationId);
        var batch = Db.CreateBatch();
        var work = new List<Task>(4);
        foreach (var (channel, message) in streamEnd)
        {
            work.Add(batch.PublishAsync(channel, message));
        }

        RedisCost cost;
        if (registration.InRedis && registration.Epoch == Volatile.Read(ref _epoch))
        {
            // Redis stayed reachable for the whole task, so nobody can have released our claim.
            work.Add(batch.KeyDeleteAsync(claimKey));
            work.Add(batch.PublishAsync(Keys.EventsChannel, ended));
            cost = new RedisCost(2 + streamEnd.Count, 1);
        }
        else
        {
            // After an outage: release only if the claim is still ours.
            work.Add(batch.ScriptEvaluateAsync(ReleaseScript, [claimKey], [registration.Claim, Keys.EventsChannel.ToString(), ended]));
            cost = new RedisCost(4 + streamEnd.Count, 1);
        }

        batch.Execute();
        await Task.WhenAll(work).ConfigureAwait(false);
        return cost;
    }

    private void Forget(TaskInfo task)
    {
        _registrations.TryRemove(task.TaskId, out _);
        _ = _degraded.CompleteAsync(task, new TaskEnded(GenerationStatus.Failed, null), 0);
    }

    // ---------------------------------------------------------------- lookups

    public async Task<RunningTask?> FindRunningAsync(string taskId, bool checkOwner = true, CancellationToken cancellationToken = default)
    {
        if (_registry.Find(taskId) is { } local)
        {
            return new RunningTask(local.Info, local.Tokens);
        }

        if (!Ids.TryGetConversationId(taskId, out var conversationId))
        {
            return null;
        }

        var running = await FindClaimAsync(conversationId, checkOwner).ConfigureAwait(false);
        return running?.Info.TaskId == taskId ? running : null;
    }

    public async Task<TaskInfo?> FindRunningInConversationAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        if (await _degraded.FindRunningInConversationAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } local)
        {
            return local;
        }

        return await FindClaimAsync(conversationId).ConfigureAwait(false) is { OwnerAlive: true } running ? running.Info : null;
    }

    /// <summary>The task holding a conversation's claim, with its token count from the owner's heartbeat.</summary>
    private async Task<RunningTask?> FindClaimAsync(string conversationId, bool checkOwner = true)
    {
        if (!_redis.IsAvailable)
        {
            return null;
        }

        try
        {
            var claim = RedisJson.Deserialize<TaskClaim>(await Db.StringGetAsync(Keys.ConversationTask(conversationId)).ConfigureAwait(false));
            if (claim is null)
            {
                return null;
            }

            if (claim.Instance == _instance)
            {
                // Ours, but no longer in the registry: it just ended.
                return _registry.Find(claim.Task.TaskId) is { } local ? new RunningTask(local.Info, local.Tokens) : null;
            }

            if (!checkOwner)
            {
                return new RunningTask(claim.Task, 0);
            }

            var heartbeat = await ReadHeartbeatAsync(claim.Task.Node).ConfigureAwait(false);
            if (heartbeat?.Instance != claim.Instance)
            {
                return new RunningTask(claim.Task, 0, OwnerAlive: false); // its node is gone; the janitor releases the claim
            }

            var tokens = heartbeat.Tasks.FirstOrDefault(t => t.Task.TaskId == claim.Task.TaskId)?.Tokens ?? 0;
            return new RunningTask(claim.Task, tokens);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<RunningTask>> ListRunningAsync(CancellationToken cancellationToken = default)
    {
        var tasks = new Dictionary<string, RunningTask>(StringComparer.Ordinal);
        foreach (var heartbeat in await ReadHeartbeatsAsync().ConfigureAwait(false))
        {
            if (heartbeat.Instance == _instance)
            {
                continue;
            }

            foreach (var task in heartbeat.Tasks)
            {
                tasks[task.Task.TaskId] = new RunningTask(task.Task, task.Tokens);
            }
        }

        // Started since the owner's last heartbeat: known from the events channel.
        var recent = Environment.TickCount64 - (long)(HeartbeatInterval.TotalMilliseconds * 2.5);
        foreach (var (taskId, (task, receivedAt)) in _remoteStarts)
        {
            if (receivedAt >= recent)
            {
                tasks.TryAdd(taskId, task);
            }
            else
            {
                _remoteStarts.TryRemove(taskId, out _);
            }
        }

        foreach (var local in _registry.All)
        {
            tasks[local.Id] = new RunningTask(local.Info, local.Tokens);
        }

        return [.. tasks.Values.OrderBy(t => t.Info.StartedAt)];
    }

    /// <summary>The nodes that reported within the heartbeat TTL, this one included.</summary>
    public async Task<IReadOnlyList<NodeStatus>> ListNodesAsync()
    {
        var beats = await ReadHeartbeatsAsync().ConfigureAwait(false);
        return [.. beats
            .Where(b => b.Instance != _instance)
            .Select(b => new NodeStatus(b.Node, b.LastSeen, b.Tasks.Count, b.Circuits, b.SubscriptionAlive, b.Metrics))
            .Append(new NodeStatus(_node.Id, DateTimeOffset.UtcNow, _registry.Count, CircuitCount(), _health.SubscriptionAlive, _metrics.Snapshot()))
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
            var reads = nodes.Select(n => batch.StringGetAsync(Keys.NodeAlive((string)n!))).ToArray();
            batch.Execute();
            var beats = new List<NodeHeartbeat>(reads.Length);
            foreach (var read in reads)
            {
                if (RedisJson.Deserialize<NodeHeartbeat>(await read.ConfigureAwait(false)) is { } beat)
                {
                    beats.Add(beat);
                }
            }

            return beats;
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            return [];
        }
    }

    private async Task<NodeHeartbeat?> ReadHeartbeatAsync(string nodeId) =>
        RedisJson.Deserialize<NodeHeartbeat>(await Db.StringGetAsync(Keys.NodeAlive(nodeId)).ConfigureAwait(false));

    private async Task<bool> IsAliveAsync(TaskClaim claim) =>
        claim.Instance == _instance
            ? _registry.Find(claim.Task.TaskId) is not null
            : (await ReadHeartbeatAsync(claim.Task.Node).ConfigureAwait(false))?.Instance == claim.Instance;

    // ---------------------------------------------------------------- cancel

    public Task<TaskEnded?> CancelRemoteAsync(TaskInfo task, TimeSpan wait, CancellationToken cancellationToken = default) =>
        CancelRemoteAsync(task, wait, publish: true, cancellationToken);

    /// <param name="publish">False only for the benchmark's polling baseline: the flag alone, found by the owner's polls.</param>
    internal async Task<TaskEnded?> CancelRemoteAsync(TaskInfo task, TimeSpan wait, bool publish, CancellationToken cancellationToken)
    {
        if (!_redis.IsAvailable)
        {
            return null;
        }

        var ended = new TaskCompletionSource<TaskEnded>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiters = _cancelWaiters.GetOrAdd(task.TaskId, _ => []);
        lock (waiters)
        {
            waiters.Add(ended);
        }

        try
        {
            // The flag covers a dropped message; the publish reaches the owner at once. One round trip.
            var batch = Db.CreateBatch();
            var flag = batch.StringSetAsync(Keys.CancelFlag(task.TaskId), "1", CancelFlagTtl);
            var published = publish ? batch.PublishAsync(Keys.CancelChannel, task.TaskId) : Task.CompletedTask;
            var claim = batch.StringGetAsync(Keys.ConversationTask(task.ConversationId));
            batch.Execute();
            await Task.WhenAll(flag, published, claim).ConfigureAwait(false);
            if (RedisJson.Deserialize<TaskClaim>(await claim.ConfigureAwait(false))?.Task.TaskId != task.TaskId)
            {
                return null; // already ended: the caller reads the final state from the history
            }

            return await ended.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.CancelNotSent(_logger, ex, task.TaskId);
            return null;
        }
        finally
        {
            lock (waiters)
            {
                waiters.Remove(ended);
            }
        }
    }

    private void CompleteWaiters(string taskId, TaskEnded outcome)
    {
        if (_cancelWaiters.TryGetValue(taskId, out var waiters))
        {
            lock (waiters)
            {
                foreach (var waiter in waiters)
                {
                    waiter.TrySetResult(outcome);
                }
            }

            if (waiters.Count == 0)
            {
                _cancelWaiters.TryRemove(new KeyValuePair<string, List<TaskCompletionSource<TaskEnded>>>(taskId, waiters));
            }
        }
    }

    private void OnCancelMessage(RedisChannel channel, RedisValue value)
    {
        var text = (string?)value;
        if (text is null)
        {
            return;
        }

        if (text.StartsWith("ping:", StringComparison.Ordinal))
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

    /// <summary>Cancels local tasks whose flag is set: what pub/sub may have dropped. One round trip.</summary>
    public async Task CheckCancelFlagsAsync(string reason)
    {
        var tasks = _registry.All;
        if (tasks.Count == 0 || !_redis.IsAvailable)
        {
            return;
        }

        try
        {
            var batch = Db.CreateBatch();
            var checks = tasks.Select(t => (Task: t, Exists: batch.KeyExistsAsync(Keys.CancelFlag(t.Id)))).ToArray();
            batch.Execute();
            foreach (var (task, exists) in checks)
            {
                if (await exists.ConfigureAwait(false) && task.RequestCancel())
                {
                    Log.CancelFromFlag(_logger, task.Id, reason);
                }
            }
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.FlagCheckFailed(_logger, ex);
        }
    }

    // ---------------------------------------------------------------- events

    private void OnEventMessage(RedisChannel channel, RedisValue value)
    {
        LifecycleMessage? message;
        try
        {
            message = RedisJson.Deserialize<LifecycleMessage>(value);
        }
        catch (System.Text.Json.JsonException)
        {
            return;
        }

        if (message is null)
        {
            return;
        }

        if (message.Kind == TaskLifecycleKind.Ended)
        {
            CompleteWaiters(message.Task.TaskId, new TaskEnded(message.Status, message.Reason));
            _remoteStarts.TryRemove(message.Task.TaskId, out _);
        }

        if (message.Instance == _instance)
        {
            return; // raised locally already
        }

        if (message.Kind == TaskLifecycleKind.Started)
        {
            _remoteStarts[message.Task.TaskId] = (new RunningTask(message.Task, 0), Environment.TickCount64);
        }

        _events.Raise(new TaskLifecycleEvent(message.Kind, message.Task, message.Status, message.Tokens, message.CancelLatencyMs));
    }

    // ---------------------------------------------------------------- follow

    public async IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_redis.IsAvailable)
        {
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
                    }
                }

                if (message is null)
                {
                    // Quiet: the task may have ended before the owner saw our request, or its node died.
                    if (++quietChecks % 2 == 1 && await FindRunningAsync(task.TaskId, cancellationToken: cancellationToken).ConfigureAwait(false) is not { OwnerAlive: true })
                    {
                        await foreach (var item in FinalFromHistoryAsync(task, received, cancellationToken).ConfigureAwait(false))
                        {
                            yield return item;
                        }

                        yield break;
                    }
                }
                else if (message.K is "s" or "d")
                {
                    quietChecks = 0;
                    var text = message.T ?? "";
                    if (message.O > received)
                    {
                        // A batch went missing: ask for a fresh snapshot.
                        await _redis.Subscriber.PublishAsync(Keys.FollowChannel, request).ConfigureAwait(false);
                        lastRequest = Environment.TickCount64;
                    }
                    else if (message.O + text.Length > received)
                    {
                        var tail = text[(received - message.O)..];
                        received += tail.Length;
                        yield return new TaskDelta(tail);
                    }
                }
                else if (message.K == "e")
                {
                    if (message.O > received)
                    {
                        await foreach (var item in FinalFromHistoryAsync(task, received, cancellationToken).ConfigureAwait(false))
                        {
                            yield return item;
                        }

                        yield break;
                    }

                    yield return new TaskEnded(message.S ?? GenerationStatus.Completed, message.R);
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
            }
        }
    }

    /// <summary>The end of a stream, from the stored answer: what the follower has not seen yet, then the final state.</summary>
    private async IAsyncEnumerable<TaskStreamEvent> FinalFromHistoryAsync(TaskInfo task, int received, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var conversation = await _store.FindAsync(task.ConversationId, cancellationToken).ConfigureAwait(false);
        var answer = conversation?.Messages.FirstOrDefault(m => m.Id == task.TaskId);
        if (answer is null)
        {
            yield return new TaskEnded(GenerationStatus.Failed, "The node generating this answer stopped before it was stored.");
            yield break;
        }

        if (answer.Content.Length > received)
        {
            yield return new TaskDelta(answer.Content[received..]);
        }

        yield return new TaskEnded(GenerationEngine.ToGenerationStatus(answer.Status), answer.Error);
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
            Publish(Keys.TaskStream(task.Id), new StreamMessage("s", 0, text));
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
                    Publish(Keys.TaskStream(taskId), new StreamMessage("d", state.Offset, delta));
                    state.Offset += delta.Length;
                }
            }
        }
    }

    /// <summary>
    /// Publishes followed tasks' batches every 50 ms while anyone follows, and sleeps until a follow request
    /// comes otherwise: an idle 50 ms timer woke a thread-pool thread 20 times a second on every node, which
    /// cost each Redis node more idle CPU than all its other background work together.
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
        }
    }

    /// <summary>The rest of a followed task's text and its end, published with the release.</summary>
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
            var end = state.Offset + delta.Length;
            return delta.Length > 0
                ? [(channel, RedisJson.Serialize(new StreamMessage("d", state.Offset, delta))), (channel, RedisJson.Serialize(new StreamMessage("e", end, null, outcome.Status, outcome.Reason)))]
                : [(channel, RedisJson.Serialize(new StreamMessage("e", end, null, outcome.Status, outcome.Reason)))];
        }
    }

    private void Publish(RedisChannel channel, StreamMessage message) =>
        _redis.Subscriber.Publish(channel, RedisJson.Serialize(message), CommandFlags.FireAndForget);

    // ---------------------------------------------------------------- background work

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await SubscribeAsync().ConfigureAwait(false);
        var token = _stopping.Token;
        _loops.Add(Loop(HeartbeatInterval, HeartbeatAsync, token));
        _loops.Add(Loop(JanitorInterval, JanitorAsync, token));
        _loops.Add(Loop(WatchdogInterval, WatchdogAsync, token));
        _loops.Add(FollowBatchLoopAsync(token));
        _ = HeartbeatAsync();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        if (_redis.IsAvailable)
        {
            try
            {
                // A graceful stop: leave the cluster now rather than by TTL.
                var batch = Db.CreateBatch();
                var alive = batch.KeyDeleteAsync(Keys.NodeAlive(_node.Id));
                var tasks = batch.KeyDeleteAsync(Keys.NodeTasks(_node.Id));
                batch.Execute();
                await Task.WhenAll(alive, tasks).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
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
            await CheckCancelFlagsAsync("subscribed").ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            Log.SubscribeFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Proves the cancel subscription alive with a message addressed to itself; a ping that does not come
    /// back within an interval means a dead listener, which is rebuilt (and flags re-checked).
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
            }

            await SubscribeAsync().ConfigureAwait(false);
        }

        var token = $"ping:{_instance}:{Interlocked.Increment(ref _pingCount)}";
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

    /// <summary>One batch per node every 2 s, however many tasks it runs.</summary>
    private async Task HeartbeatAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        var tasks = _registry.All.Select(t => new HeartbeatTask(t.Info, t.Tokens)).ToList();
        var beat = RedisJson.Serialize(new NodeHeartbeat(_node.Id, _instance, DateTimeOffset.UtcNow, _health.SubscriptionAlive, CircuitCount(), tasks, _metrics.Snapshot()));
        var list = RedisJson.Serialize(new NodeHeartbeat(_node.Id, _instance, DateTimeOffset.UtcNow, true, 0, tasks));
        try
        {
            var batch = Db.CreateBatch();
            var alive = batch.StringSetAsync(Keys.NodeAlive(_node.Id), beat, HeartbeatTtl);
            var known = batch.StringSetAsync(Keys.NodeTasks(_node.Id), list);
            var member = batch.SetAddAsync(Keys.Nodes, _node.Id);
            batch.Execute();
            await Task.WhenAll(alive, known, member).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
        }
    }

    /// <summary>Releases the claims of nodes whose heartbeat expired, so no conversation stays "generating".</summary>
    private async Task JanitorAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        try
        {
            var nodes = (await Db.SetMembersAsync(Keys.Nodes).ConfigureAwait(false)).Select(n => (string)n!).Where(n => n != _node.Id).ToArray();
            if (nodes.Length == 0)
            {
                return;
            }

            var batch = Db.CreateBatch();
            var checks = nodes.Select(n => (Node: n, Alive: batch.KeyExistsAsync(Keys.NodeAlive(n)), Tasks: batch.StringGetAsync(Keys.NodeTasks(n)))).ToArray();
            batch.Execute();
            foreach (var (node, aliveTask, tasksTask) in checks)
            {
                if (await aliveTask.ConfigureAwait(false))
                {
                    continue;
                }

                var last = RedisJson.Deserialize<NodeHeartbeat>(await tasksTask.ConfigureAwait(false));
                foreach (var task in last?.Tasks ?? [])
                {
                    await ReleaseDeadTaskAsync(task.Task, last!.Instance).ConfigureAwait(false);
                }

                await Db.KeyDeleteAsync(Keys.NodeTasks(node)).ConfigureAwait(false);
                await Db.SetRemoveAsync(Keys.Nodes, node).ConfigureAwait(false);
                Log.NodeGone(_logger, node, last?.Tasks.Count ?? 0);
            }
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
        }
    }

    private async Task ReleaseDeadTaskAsync(TaskInfo task, string instance)
    {
        const string reason = "The node generating this answer stopped before it finished.";

        // One janitor per dead task records the failure in the history, then releases the claim.
        if (!await Db.StringSetAsync(Keys.JanitorLock(task.TaskId), _node.Id, TimeSpan.FromMinutes(1), When.NotExists).ConfigureAwait(false))
        {
            return;
        }

        var answer = new ChatMessage(task.TaskId, ChatRole.Assistant, "", MessageStatus.Failed, task.StartedAt, reason, 0, task.Node);
        await _store.AppendAsync(task.UserId, task.ConversationId, answer).ConfigureAwait(false);
        var claim = RedisJson.Serialize(new TaskClaim(task, instance));
        var ended = RedisJson.Serialize(new LifecycleMessage(TaskLifecycleKind.Ended, task, "janitor", GenerationStatus.Failed, 0, reason));
        await Db.ScriptEvaluateAsync(ReleaseScript, [Keys.ConversationTask(task.ConversationId)], [claim, Keys.EventsChannel.ToString(), ended]).ConfigureAwait(false);
    }

    private void OnRestored()
    {
        Interlocked.Increment(ref _epoch);
        _ = Task.Run(async () =>
        {
            await HeartbeatAsync().ConfigureAwait(false);
            await ReplayAsync().ConfigureAwait(false);
            await CheckCancelFlagsAsync("connection restored").ConfigureAwait(false);
        });
    }

    /// <summary>After an outage: releases of tasks that ended meanwhile, and claims of tasks that started meanwhile.</summary>
    private async Task ReplayAsync()
    {
        while (_redis.IsAvailable && _pendingReleases.TryPeek(out var release))
        {
            try
            {
                await ReleaseAsync(release, []).ConfigureAwait(false);
                _pendingReleases.TryDequeue(out _);
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                return;
            }
        }

        foreach (var (taskId, registration) in _registrations)
        {
            if (!registration.InRedis && _registry.Find(taskId) is { } task)
            {
                try
                {
                    if (await ClaimAsync(task.Info, registration).ConfigureAwait(false) is null)
                    {
                        PublishStarted(task.Info);
                    }
                }
                catch (Exception ex) when (RedisJson.IsUnavailable(ex))
                {
                    return;
                }
            }
        }
    }

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
        }
    }

    public void Dispose()
    {
        // Resolved as itself, as ITaskCoordinator and as a hosted service: the container may dispose it more than once.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _redis.Restored -= OnRestored;
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Registration(string claim, int epoch)
    {
        public string Claim { get; } = claim;

        public int Epoch { get; } = epoch;

        public bool InRedis { get; set; }
    }

    private sealed class FollowState
    {
        public long LeaseUntil { get; set; }

        public int Offset { get; set; }
    }

    private sealed record PendingRelease(TaskInfo Task, Registration Registration, string EndedEvent);

    private static partial class Log
    {
        [LoggerMessage(2201, LogLevel.Warning, "Redis unreachable: task {TaskId} starts on this node only; other nodes see it when Redis is back.")]
        public static partial void DegradedStart(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(2202, LogLevel.Warning, "Redis unreachable: the release of task {TaskId} waits until it is back.")]
        public static partial void DeferredRelease(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(2203, LogLevel.Debug, "Cancel of task {TaskId} received.")]
        public static partial void CancelReceived(ILogger logger, string taskId);

        [LoggerMessage(2204, LogLevel.Information, "Task {TaskId} cancelled by its stored flag ({Reason}).")]
        public static partial void CancelFromFlag(ILogger logger, string taskId, string reason);

        [LoggerMessage(2205, LogLevel.Warning, "Checking cancel flags failed.")]
        public static partial void FlagCheckFailed(ILogger logger, Exception exception);

        [LoggerMessage(2206, LogLevel.Warning, "The cancel of task {TaskId} could not be sent.")]
        public static partial void CancelNotSent(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(2207, LogLevel.Warning, "Subscribing to the coordination channels failed; the watchdog retries.")]
        public static partial void SubscribeFailed(ILogger logger, Exception exception);

        [LoggerMessage(2208, LogLevel.Warning, "The cancel subscription did not deliver the watchdog's ping; rebuilding it (rebuild {Count}).")]
        public static partial void SubscriptionDead(ILogger logger, int count);

        [LoggerMessage(2209, LogLevel.Warning, "Node {Node} stopped reporting; released its {Count} tasks.")]
        public static partial void NodeGone(ILogger logger, string node, int count);

        [LoggerMessage(2210, LogLevel.Error, "Background work {Work} failed.")]
        public static partial void LoopFailed(ILogger logger, Exception exception, string work);
    }
}
