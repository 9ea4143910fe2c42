using ChatPortal.Core.Coordination;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Stop from any node: one PUBLISH of the task id (and the user whose Stop it is) on the cancel channel, which every node subscribes to once; the
/// owner trips the task's token at once, and its end event is the acknowledgement. The database's cancel request
/// covers whatever pub/sub drops. The same channel carries the watchdog's pings (<see cref="CancelChannelFormat"/>),
/// handed on through <see cref="PingReceived"/>.
/// </summary>
internal sealed class RedisCancelBus(RedisConnection redis, LocalTaskRegistry registry, ILogger logger)
{
    /// <summary>A watchdog ping came in on the cancel channel (any node's: the watchdog picks its own).</summary>
    public event Action<string>? PingReceived;

    public RedisCost PushCancel(string taskId, string? userId)
    {
        if (registry.TryCancel(taskId, userId) || !redis.IsAvailable)
        {
            return default;
        }

        try
        {
            redis.Subscriber.Publish(redis.Keys.CancelChannel, CancelChannelFormat.Stop(taskId, userId), CommandFlags.FireAndForget);
            return new RedisCost(1, 1);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            RedisLog.CancelNotSent(logger, ex, taskId);
            return default;
        }
    }

    /// <summary>Publishes a watchdog ping on the cancel channel.</summary>
    public Task PublishPingAsync(string token) => redis.Subscriber.PublishAsync(redis.Keys.CancelChannel, token);

    /// <summary>The cancel channel's handler.</summary>
    public void OnMessage(RedisChannel channel, RedisValue value)
    {
        var text = (string?)value;
        if (text is null)
        {
            return;
        }

        if (text.StartsWith(CancelChannelFormat.PingPrefix, StringComparison.Ordinal))
        {
            PingReceived?.Invoke(text);
            return;
        }

        var (taskId, userId) = CancelChannelFormat.ParseStop(text);
        if (registry.TryCancel(taskId, userId))
        {
            RedisLog.CancelReceived(logger, taskId);
        }
    }
}
