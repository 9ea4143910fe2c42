using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// The log messages of the Redis coordinator and its parts (event ids 22xx, stable). All parts log under the
/// coordinator's category, as before the split.
/// </summary>
internal static partial class RedisLog
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

    [LoggerMessage(2215, LogLevel.Information, "Following {Channel} through Redis failed; following from the database instead.")]
    public static partial void FollowFromDatabase(ILogger logger, Exception exception, string channel);

    [LoggerMessage(2216, LogLevel.Debug, "A follow request could not be sent ({Request}); the follow asks again or ends from the database.")]
    public static partial void FollowRequestNotSent(ILogger logger, Exception exception, string request);

    [LoggerMessage(2214, LogLevel.Debug, "The heartbeat could not be written.")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception);

    /// <summary>One fire-and-forget PUBLISH of a JSON message; a Redis that is down is logged, not thrown.</summary>
    public static void PublishJson<T>(this RedisConnection redis, RedisChannel channel, T message, ILogger logger)
    {
        try
        {
            redis.Subscriber.Publish(channel, RedisJson.Serialize(message), CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            PublishFailed(logger, ex, channel.ToString());
        }
    }
}
