using Microsoft.Extensions.Logging;

namespace ChatPortal.Core.Redis;

/// <summary>
/// The node's one subscription per coordination channel (cancel, events, follow), each with its part's handler.
/// <see cref="Resubscribed"/> is raised whenever they are (re)established, by us or by the client after a lost
/// subscription connection: Stops published meanwhile may be lost.
/// </summary>
internal sealed class RedisSubscriptions : IDisposable
{
    private readonly RedisConnection _redis;
    private readonly RedisCancelBus _cancel;
    private readonly RedisLifecycleEvents _events;
    private readonly RedisFollowRelay _follow;
    private readonly ILogger _logger;

    public RedisSubscriptions(RedisConnection redis, RedisCancelBus cancel, RedisLifecycleEvents events, RedisFollowRelay follow, ILogger logger)
    {
        _redis = redis;
        _cancel = cancel;
        _events = events;
        _follow = follow;
        _logger = logger;
        redis.SubscriptionRestored += OnSubscriptionRestored;
    }

    public event Action? Resubscribed;

    public async Task SubscribeAsync()
    {
        try
        {
            var subscriber = _redis.Subscriber;
            await subscriber.SubscribeAsync(_redis.Keys.CancelChannel, _cancel.OnMessage).ConfigureAwait(false);
            await subscriber.SubscribeAsync(_redis.Keys.EventsChannel, _events.OnMessage).ConfigureAwait(false);
            await subscriber.SubscribeAsync(_redis.Keys.FollowChannel, _follow.OnMessage).ConfigureAwait(false);
            Resubscribed?.Invoke();
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            RedisLog.SubscribeFailed(_logger, ex);
        }
    }

    public async Task UnsubscribeAsync()
    {
        try
        {
            var subscriber = _redis.Subscriber;
            await subscriber.UnsubscribeAsync(_redis.Keys.CancelChannel, _cancel.OnMessage).ConfigureAwait(false);
            await subscriber.UnsubscribeAsync(_redis.Keys.EventsChannel, _events.OnMessage).ConfigureAwait(false);
            await subscriber.UnsubscribeAsync(_redis.Keys.FollowChannel, _follow.OnMessage).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            RedisLog.UnsubscribeFailed(_logger, ex, _redis.Keys.CancelChannel.ToString());
        }
    }

    /// <summary>Drops the handlers and subscribes again (a dead listener is rebuilt this way).</summary>
    public async Task ResubscribeAsync()
    {
        await UnsubscribeAsync().ConfigureAwait(false);
        await SubscribeAsync().ConfigureAwait(false);
    }

    private void OnSubscriptionRestored() => Resubscribed?.Invoke();

    public void Dispose() => _redis.SubscriptionRestored -= OnSubscriptionRestored;
}
