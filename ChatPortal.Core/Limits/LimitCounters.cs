using Microsoft.Extensions.Logging;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatPortal.Core.Limits;

/// <summary>
/// The counters behind message limits and sign-in backoff: in Redis when it is configured and reachable (one round
/// trip per call: one small script per key, pipelined), else in this node's memory (the same rules, per node).
/// Counts only make things slower for abusers; losing them (a Redis wipe, a fallback) never breaks a rule that
/// correctness rests on. Times are the Redis server's clock or this node's monotonic clock, never compared.
/// </summary>
public sealed partial class LimitCounters(RedisConnection? redis, IOptions<ChatPortalOptions> options, TimeProvider time, ILogger<LimitCounters> logger)
{
    // A fixed window that starts at the first hit: count, and what is left of the window.
    // Under the limit (the common case) this is one INCR inside the script: the window's expiry is set by the
    // first hit, and the time left is read only once the limit is passed (for Retry-After).
    private const string HitScript = """
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          return {n, tonumber(ARGV[1])}
        end
        if n <= tonumber(ARGV[2]) then return {n, 0} end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          ttl = tonumber(ARGV[1])
        end
        return {n, ttl}
        """;

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
        var results = await RunAsync(keys, HitScript, i => [(long)window.TotalMilliseconds, limits[i]], "message limits");
        if (results is not null)
        {
            return results.Select(r => ((long)r[0], TimeSpan.FromMilliseconds((long)r[1]))).ToArray();
        }

        return keys.Select(k => _local.Hit(k.ToString(), window)).ToArray();
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
