using System.Collections.Concurrent;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Start and end of tasks on the events channel: one fire-and-forget PUBLISH each, nothing per chunk. The handler
/// raises other nodes' events as <see cref="TaskLifecycleEvents"/>, completes <see cref="TaskEndWaiters"/> (an end
/// event is a Stop's acknowledgement) and remembers other nodes' recent starts until their next heartbeat.
/// </summary>
internal sealed class RedisLifecycleEvents(
    RedisConnection redis,
    TaskLifecycleEvents events,
    NodeInstance instance,
    RedisFollowRelay relay,
    ILogger logger)
{
    private readonly TaskEndWaiters _waiters = new();
    private readonly ConcurrentDictionary<string, (TaskInfo Task, long ReceivedAt)> _remoteStarts = new(StringComparer.Ordinal);

    public RedisCost AnnounceStarted(TaskInfo task)
    {
        if (!redis.IsAvailable)
        {
            return default;
        }

        redis.PublishJson(redis.Keys.EventsChannel, new LifecycleMessage(TaskLifecycleKind.Started, task, instance.Id, GenerationStatus.Running, 0), logger);
        return new RedisCost(1, 1);
    }

    public RedisCost AnnounceEnded(TaskInfo task, TaskEnded outcome, int tokens, double? cancelLatencyMs)
    {
        _waiters.Complete(task.TaskId, outcome);
        if (!redis.IsAvailable)
        {
            return default;
        }

        // Followers first get the rest of the text and the end on the task's channel, then everyone hears of the
        // end. One connection keeps the order on one server; on Redis Cluster the two channels may live on two shards,
        // and nothing needs the order there: a follower ends from its task's channel.
        var commands = 1 + relay.PublishFinal(task.TaskId, outcome);
        redis.PublishJson(redis.Keys.EventsChannel, new LifecycleMessage(TaskLifecycleKind.Ended, task, instance.Id, outcome.Status, tokens, outcome.Reason, cancelLatencyMs), logger);
        return new RedisCost(commands, 1);
    }

    public TaskEndWaiter WaitForEnd(string taskId) => _waiters.Add(taskId);

    /// <summary>The events channel's handler.</summary>
    public void OnMessage(RedisChannel channel, RedisValue value)
    {
        LifecycleMessage? message;
        try
        {
            message = RedisJson.Deserialize<LifecycleMessage>(value);
        }
        catch (System.Text.Json.JsonException ex)
        {
            RedisLog.BadMessage(logger, ex, channel.ToString());
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

        if (message.Instance == instance.Id)
        {
            return; // raised locally already
        }

        if (message.Kind == TaskLifecycleKind.Started)
        {
            _remoteStarts[message.Task.TaskId] = (message.Task, Environment.TickCount64);
        }

        events.Raise(new TaskLifecycleEvent(message.Kind, message.Task, message.Status, message.Tokens, message.CancelLatencyMs));
    }

    /// <summary>Running tasks of other nodes started since their owners' last heartbeat (from the events channel).</summary>
    public IEnumerable<TaskInfo> RecentRemoteStarts()
    {
        var recent = Environment.TickCount64 - (long)(RedisPresence.Interval.TotalMilliseconds * 2.5);
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
}
