using System.Diagnostics;
using System.Globalization;
using ChatPortal.Core.Coordination;

namespace ChatPortal.Admin;

/// <summary>Redis health for the dashboard: ping, version, memory, ops/s, clients, last error, last reconnect.</summary>
public sealed class RedisInfoReader(IServiceProvider services, CoordinationHealth health)
{
    /// <summary>A ping slower than this marks Redis degraded.</summary>
    public static readonly TimeSpan SlowPing = TimeSpan.FromMilliseconds(100);

    public async Task<RedisStatus> ReadAsync(CancellationToken cancellationToken = default)
    {
        var redis = services.GetService<ISharedStateConnection>();
        if (redis is null)
        {
            return new RedisStatus("healthy", null, null, null, null, null, "single-node", null, null);
        }

        if (!redis.IsAvailable)
        {
            return new RedisStatus("down", null, null, null, null, null, "redis", health.LastError, health.LastReconnect);
        }

        try
        {
            var started = Stopwatch.GetTimestamp();
            await redis.PingAsync(cancellationToken);
            var pingMs = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2);
            var info = await redis.InfoAsync(cancellationToken);
            var degraded = pingMs > SlowPing.TotalMilliseconds || !health.SubscriptionAlive;
            return new RedisStatus(
                degraded ? "degraded" : "healthy",
                pingMs,
                info.GetValueOrDefault("redis_version"),
                Long(info, "used_memory"),
                Long(info, "instantaneous_ops_per_sec"),
                Long(info, "connected_clients"),
                "redis",
                health.LastError,
                health.LastReconnect);
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the card says so: a health view must not fail itself.
            return new RedisStatus(redis.IsAvailable ? "degraded" : "down", null, null, null, null, null, "redis", ex.Message, health.LastReconnect);
        }
    }

    private static long? Long(IReadOnlyDictionary<string, string> info, string key) =>
        info.TryGetValue(key, out var value) && long.TryParse(value, CultureInfo.InvariantCulture, out var number) ? number : null;
}
