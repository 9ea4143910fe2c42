using ChatPortal.Core.Coordination;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Proves the cancel subscription alive with a message addressed to itself every 2 s; a ping that does not come
/// back within an interval means a dead listener, which is rebuilt (raising
/// <see cref="RedisSubscriptions.Resubscribed"/>). Feeds <see cref="CoordinationHealth.SubscriptionAlive"/>.
/// </summary>
internal sealed class RedisSubscriptionWatchdog : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly RedisConnection _redis;
    private readonly RedisSubscriptions _subscriptions;
    private readonly RedisCancelBus _cancel;
    private readonly NodeInstance _instance;
    private readonly CoordinationHealth _health;
    private readonly ILogger _logger;
    private string? _pingToken;
    private long _pingSentAt;
    private long _pingCount;
    private int _rebuilds;

    public RedisSubscriptionWatchdog(RedisConnection redis, RedisSubscriptions subscriptions, RedisCancelBus cancel, NodeInstance instance, CoordinationHealth health, ILogger logger)
    {
        _redis = redis;
        _subscriptions = subscriptions;
        _cancel = cancel;
        _instance = instance;
        _health = health;
        _logger = logger;
        cancel.PingReceived += OnPing;
    }

    /// <summary>Number of times the watchdog found the subscription dead and rebuilt it.</summary>
    public int Rebuilds => _rebuilds;

    /// <summary>One round: rebuild the subscription if the last ping is overdue, then send the next ping.</summary>
    public async Task CheckAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        if (_pingToken is not null && Environment.TickCount64 - _pingSentAt > Interval.TotalMilliseconds)
        {
            _health.SetSubscriptionAlive(false);
            _rebuilds++;
            RedisLog.SubscriptionDead(_logger, _rebuilds);
            await _subscriptions.ResubscribeAsync().ConfigureAwait(false);
        }

        var token = $"{CancelChannelFormat.PingPrefix}{_instance.Id}:{Interlocked.Increment(ref _pingCount)}";
        _pingToken = token;
        _pingSentAt = Environment.TickCount64;
        try
        {
            await _cancel.PublishPingAsync(token).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            // Not sent: no ping to wait for; the next round tries again.
            _pingToken = null;
        }
    }

    /// <summary>A ping came back on the cancel channel: ours proves the subscription alive, other nodes' are ignored.</summary>
    private void OnPing(string token)
    {
        if (token == _pingToken)
        {
            _pingToken = null;
            _health.SetSubscriptionAlive(true);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await CheckAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RedisLog.LoopFailed(_logger, ex, nameof(CheckAsync));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public override void Dispose()
    {
        _cancel.PingReceived -= OnPing;
        base.Dispose();
    }
}
