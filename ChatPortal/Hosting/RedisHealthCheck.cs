using System.Diagnostics;
using ChatPortal.Core.Coordination;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatPortal.Hosting;

/// <summary>
/// /readyz: Healthy in memory or with Redis answering; Degraded (still 200: the node serves, cross-node
/// features wait) while Redis is unreachable.
/// </summary>
internal sealed class RedisHealthCheck(IServiceProvider services, CoordinationHealth health) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var redis = services.GetService<ISharedStateConnection>();
        if (redis is null)
        {
            return HealthCheckResult.Healthy("Single node, in-memory state.");
        }

        if (!redis.IsAvailable)
        {
            return HealthCheckResult.Degraded($"Redis is unreachable ({health.LastError}); answers go on, cross-node cancel and follow wait for it.");
        }

        try
        {
            var started = Stopwatch.GetTimestamp();
            await redis.PingAsync(cancellationToken);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return HealthCheckResult.Healthy("Redis answers.", new Dictionary<string, object>
            {
                ["pingMs"] = Math.Round(ms, 2),
                ["subscriptionAlive"] = health.SubscriptionAlive,
            });
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return HealthCheckResult.Degraded("Redis did not answer a PING.", ex);
        }
    }
}
