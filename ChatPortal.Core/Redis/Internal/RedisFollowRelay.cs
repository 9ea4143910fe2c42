using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Follow across nodes. The owner publishes a task's text (a snapshot, then 50 ms batches) only while someone
/// follows: a follower asks on the follow channel and renews its request; the owner's lease on it runs out
/// otherwise. The follower side (<see cref="FollowRemoteAsync"/>) drops repeats, asks again on a gap, and takes
/// the end from the store when the stream cannot give it.
/// </summary>
internal sealed class RedisFollowRelay(
    RedisConnection redis,
    LocalTaskRegistry registry,
    IConversationStore store,
    NodeIdentity node,
    ILogger logger) : BackgroundService
{
    public static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan FollowLease = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FollowRenewal = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, FollowState> _followed = new(StringComparer.Ordinal);
    private readonly Channel<bool> _followStarted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private RedisKeys Keys => redis.Keys;

    // ---------------------------------------------------------------- owner side

    /// <summary>The follow channel's handler: answers a request with a snapshot and follows the task for a lease.</summary>
    public void OnMessage(RedisChannel channel, RedisValue value)
    {
        var request = RedisJson.Deserialize<FollowRequest>(value);
        if (request is null || registry.Find(request.TaskId) is not { } task)
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
    internal void PublishFollowedBatches()
    {
        if (_followed.IsEmpty || !redis.IsAvailable)
        {
            return;
        }

        var now = Environment.TickCount64;
        foreach (var (taskId, state) in _followed)
        {
            var task = registry.Find(taskId);
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
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                if (_followed.IsEmpty)
                {
                    await _followStarted.Reader.ReadAsync(stoppingToken).ConfigureAwait(false);
                }

                await Task.Delay(BatchInterval, stoppingToken).ConfigureAwait(false);
                try
                {
                    PublishFollowedBatches();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RedisLog.LoopFailed(logger, ex, nameof(PublishFollowedBatches));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Publishes the rest of a followed task's text and its end on the task's channel (before the end event, on
    /// the same connection, which keeps the order on one server). Returns the number of PUBLISHes.
    /// </summary>
    public int PublishFinal(string taskId, TaskEnded outcome)
    {
        var messages = FinalStreamMessages(taskId, outcome);
        foreach (var (channel, message) in messages)
        {
            redis.Subscriber.Publish(channel, message, CommandFlags.FireAndForget);
        }

        return messages.Count;
    }

    /// <summary>The rest of a followed task's text and its end.</summary>
    private IReadOnlyList<(RedisChannel, string)> FinalStreamMessages(string taskId, TaskEnded outcome)
    {
        if (!_followed.TryRemove(taskId, out var state) || registry.Find(taskId) is not { } task)
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

    private void PublishStream(string taskId, StreamMessage message) => redis.PublishJson(Keys.TaskStream(taskId), message, logger);

    // ---------------------------------------------------------------- follower side

    public async IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!redis.IsAvailable)
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

        var subscribed = false;
        try
        {
            await redis.Subscriber.SubscribeAsync(streamChannel, handler).ConfigureAwait(false);
            subscribed = true;
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            // Redis went away or stalled right now: follow from the database instead (the end once it is stored).
            RedisLog.FollowFromDatabase(logger, ex, streamChannel.ToString());
        }

        if (!subscribed)
        {
            await foreach (var item in EndFromStoreAsync(task, 0, waitForEnd: true, cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }

            yield break;
        }

        try
        {
            var request = RedisJson.Serialize(new FollowRequest(task.TaskId, node.Id));
            await RequestFollowAsync(request).ConfigureAwait(false);
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
                        await RequestFollowAsync(request).ConfigureAwait(false);
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
                    await RequestFollowAsync(request).ConfigureAwait(false);
                    lastRequest = Environment.TickCount64;
                }
            }
        }
        finally
        {
            try
            {
                await redis.Subscriber.UnsubscribeAsync(streamChannel, handler).ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                RedisLog.UnsubscribeFailed(logger, ex, streamChannel.ToString());
            }
        }
    }

    /// <summary>
    /// Asks the owner for the stream. A request lost to a Redis stall or outage is not an error of the follow: the
    /// quiet checks end it from the database if the task ends meanwhile, and the renewal asks again.
    /// </summary>
    private async Task RequestFollowAsync(RedisValue request)
    {
        try
        {
            await redis.Subscriber.PublishAsync(Keys.FollowChannel, request).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            RedisLog.FollowRequestNotSent(logger, ex, request.ToString());
        }
    }

    /// <summary>Whether the task still holds its conversation's claim (true when the database cannot tell).</summary>
    private async Task<bool> StillRunningAsync(TaskInfo task, CancellationToken cancellationToken)
    {
        try
        {
            return (await store.FindActiveAnswerAsync(task.ConversationId, cancellationToken).ConfigureAwait(false))?.TaskId == task.TaskId;
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
                answer = await store.FindAnswerAsync(task.ConversationId, task.TaskId, cancellationToken).ConfigureAwait(false);
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

                yield return new TaskEnded(TaskStates.ToGenerationStatus(answer.Message.Status), answer.Message.Error);
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

    private sealed class FollowState
    {
        public long LeaseUntil { get; set; }

        public int Offset { get; set; }
    }
}
