using Microsoft.Extensions.Logging;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatPortal.Core.Limits;

/// <summary>
/// The counters behind message limits and sign-in backoff: in Redis when it is configured and reachable (one round
/// trip per call: an INCR per key for a message, one small script per key for sign-in backoff, pipelined), else in
/// this node's memory (the same rules, per node).
/// Counts only make things slower for abusers; losing them (a Redis wipe, a fallback) never breaks a rule that
/// correctness rests on. Times are the Redis server's clock or this node's monotonic clock, never compared.
/// </summary>
public sealed partial class LimitCounters(RedisConnection? redis, IOptions<ChatPortalOptions> options, TimeProvider time, ILogger<LimitCounters> logger)
{
    // Failures so far and how long the key is still blocked (ms, on the Redis clock).
    private const string BlockedScript = """
        local v = redis.call('HMGET', KEYS[1], 'n', 'until')
        if not v[1] then return {0, 0} end
        local left = 0
        if v[2] then
          local t = redis.call('TIME')
          left = tonumber(v[2]) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
          if left < 0 then left = 0 end
        end
        return {tonumber(v[1]), left}
        """;

    // One more failure; from the FreeFailures-th on, block for 1 s, 2 s, 4 s, ... capped.
    private const string FailScript = """
        local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        local free = tonumber(ARGV[2])
        if n < free then return 0 end
        local delay = math.min(1000 * 2 ^ math.min(n - free, 30), tonumber(ARGV[3]))
        local t = redis.call('TIME')
        redis.call('HSET', KEYS[1], 'until', string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + delay))
        return delay
        """;

    private readonly LocalCounters _local = new(time);
    private int _degraded;

    public LimitKeys Keys { get; } = new(options.Value.KeyPrefix);

    /// <summary>
    /// Counts one hit on each key; returns each key's count in its window and, once a key's count passes its
    /// limit (<paramref name="limits"/>, one per key), the time left of its window.
    /// </summary>
    public async Task<(long Count, TimeSpan Left)[]> HitAsync(RedisKey[] keys, long[] limits, TimeSpan window)
    {
        // A fixed window that starts at the first hit. Under the limit (the common case) a hit is one INCR per key,
        // all keys in one round trip, no script: each key may live on its own shard of a Redis Cluster. The first
        // hit of a window sets its expiry (fire and forget); past the limit the time left is read for Retry-After,
        // and a key found without an expiry (its first hit's PEXPIRE lost with its node) gets one then, so a lost
        // expiry can only let a window run long, never block anyone for good.
        if (redis is null)
        {
            return Local();
        }

        if (!redis.IsAvailable)
        {
            Degraded(null, "message limits");
            return Local();
        }

        try
        {
            var database = redis.Database;
            var counts = await Task.WhenAll(keys.Select(key => database.StringIncrementAsync(key)));
            var results = new (long Count, TimeSpan Left)[keys.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                var count = counts[i];
                if (count == 1)
                {
                    database.KeyExpire(keys[i], window, CommandFlags.FireAndForget);
                    results[i] = (count, window);
                }
                else if (count > limits[i])
                {
                    results[i] = (count, await LeftAsync(database, keys[i], window));
                }
                else
                {
                    results[i] = (count, TimeSpan.Zero);
                }
            }

            Interlocked.Exchange(ref _degraded, 0);
            return results;
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
        {
            Degraded(exception, "message limits");
            return Local();
        }

        (long Count, TimeSpan Left)[] Local() => keys.Select(k => _local.Hit(k.ToString(), window)).ToArray();
    }

    /// <summary>What is left of a key's window, on the Redis clock; a key without an expiry gets a whole window.</summary>
    private static async Task<TimeSpan> LeftAsync(IDatabase database, RedisKey key, TimeSpan window)
    {
        if (await database.KeyTimeToLiveAsync(key) is { } left)
        {
            return left;
        }

        await database.KeyExpireAsync(key, window, ExpireWhen.HasNoExpiry);
        return window;
    }

    /// <summary>Failures recorded on each key, and how long it is still blocked.</summary>
    public async Task<(long Failures, TimeSpan Blocked)[]> BlockedAsync(RedisKey[] keys)
    {
        var results = await RunAsync(keys, BlockedScript, _ => [], "sign-in backoff");
        if (results is not null)
        {
            return results.Select(r => ((long)r[0], TimeSpan.FromMilliseconds((long)r[1]))).ToArray();
        }

        return keys.Select(k => _local.Blocked(k.ToString())).ToArray();
    }

    /// <summary>Records a failure on each key; returns the block each now has (zero while failures are still free).</summary>
    /// <param name="freeFailures">Failures allowed within <paramref name="window"/> before each further one waits.</param>
    /// <param name="cap">The longest wait (the first is 1 s, then 2, 4, … up to this).</param>
    public async Task<TimeSpan[]> FailAsync(RedisKey[] keys, TimeSpan window, int freeFailures, TimeSpan cap)
    {
        var results = await RunAsync(keys, FailScript, _ => [(long)window.TotalMilliseconds, freeFailures, (long)cap.TotalMilliseconds], "sign-in backoff");
        if (results is not null)
        {
            return results.Select(r => TimeSpan.FromMilliseconds((long)r)).ToArray();
        }

        return keys.Select(k => _local.Fail(k.ToString(), window, freeFailures, cap)).ToArray();
    }

    public async Task ResetAsync(RedisKey key)
    {
        _local.Reset(key.ToString());
        if (redis is { IsAvailable: true })
        {
            try
            {
                await redis.Database.KeyDeleteAsync(key);
            }
            catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
            {
                // The failures then age out with their window; a reset is a courtesy, not a rule.
                Log.CountingLocally(logger, exception, "a sign-in reset");
            }
        }
    }

    /// <summary>One script per key, sent together (one round trip); null when Redis is not there to ask.</summary>
    private async Task<RedisResult[]?> RunAsync(RedisKey[] keys, string script, Func<int, RedisValue[]> values, string what)
    {
        if (redis is null)
        {
            return null;
        }

        if (!redis.IsAvailable)
        {
            Degraded(null, what);
            return null;
        }

        try
        {
            var database = redis.Database;
            var calls = keys.Select((key, i) => database.ScriptEvaluateAsync(script, [key], values(i))).ToArray();
            var results = await Task.WhenAll(calls);
            Interlocked.Exchange(ref _degraded, 0);
            return results;
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
        {
            Degraded(exception, what);
            return null;
        }
    }

    private void Degraded(Exception? exception, string what)
    {
        if (Interlocked.Exchange(ref _degraded, 1) == 0)
        {
            Log.CountingLocally(logger, exception, what);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3004, LogLevel.Warning, "Redis is unavailable for {What}; counting on this node only until it is back.")]
        public static partial void CountingLocally(ILogger logger, Exception? exception, string what);
    }
}
