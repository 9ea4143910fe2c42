using ChatPortal.Core;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Limits;
using ChatPortal.Core.Redis;
using ChatPortal.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatPortal.Tests.Redis;

/// <summary>The message limits' counters against a real redis-server: what a hit costs and how a window ends.</summary>
public sealed class LimitCountersTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task UnderTheLimitAHitIsOneIncrPerKeyAndOnlyAWindowsFirstHitSetsItsExpiry()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = Connect(redis);
        var counters = Counters(connection);
        RedisKey[] keys = [counters.Keys.UserMessages("alice"), counters.Keys.AddressMessages("203.0.113.7")];
        var before = await redis.CommandStatsAsync();

        var first = await counters.HitAsync(keys, [5, 5], Window);
        var second = await counters.HitAsync(keys, [5, 5], Window);
        var third = await counters.HitAsync(keys, [5, 5], Window);

        Assert.All(first, r => Assert.Equal((1L, Window), r));
        Assert.All(second, r => Assert.Equal((2L, TimeSpan.Zero), r));
        Assert.All(third, r => Assert.Equal(3L, r.Count));
        await WaitForAsync(async () => (await redis.ExecuteAsync("PTTL", keys[1].ToString())).ToString() != "-1");
        var after = await redis.CommandStatsAsync();
        Assert.Equal(6, Delta(before, after, "incr"));
        Assert.Equal(2, Delta(before, after, "pexpire") + Delta(before, after, "expire"));
        Assert.Equal(0, Delta(before, after, "evalsha") + Delta(before, after, "eval"));
        foreach (var key in keys)
        {
            var ttl = (long)await redis.ExecuteAsync("PTTL", key.ToString());
            Assert.InRange(ttl, 1, (long)Window.TotalMilliseconds);
        }
    }

    [Fact]
    public async Task PastTheLimitAHitSaysWhatIsLeftOfTheWindowAndAKeyThatLostItsExpiryGetsOne()
    {
        await using var redis = await RedisServer.StartAsync();
        using var connection = Connect(redis);
        var counters = Counters(connection);
        var counted = counters.Keys.UserMessages("bob");
        var orphan = counters.Keys.UserMessages("carol");
        for (var i = 0; i < 3; i++)
        {
            await counters.HitAsync([counted], [3], Window);
        }

        // The first hit's expiry lost with the node that sent it: the count stands without a window's end.
        await redis.ExecuteAsync("SET", orphan.ToString(), "3");

        var refused = await counters.HitAsync([counted], [3], Window);
        var repaired = await counters.HitAsync([orphan], [3], Window);

        Assert.Equal(4, refused[0].Count);
        Assert.InRange(refused[0].Left, TimeSpan.FromSeconds(1), Window);
        Assert.Equal(4, repaired[0].Count);
        Assert.Equal(Window, repaired[0].Left);
        Assert.InRange((long)await redis.ExecuteAsync("PTTL", orphan.ToString()), 1, (long)Window.TotalMilliseconds);
    }

    [Fact]
    public async Task WithRedisGoneTheNodeCountsAloneAndRefusesPastTheLimit()
    {
        var redis = await RedisServer.StartAsync();
        using var connection = Connect(redis);
        var counters = Counters(connection);
        await redis.DisposeAsync();
        await WaitForAsync(() => Task.FromResult(!connection.IsAvailable));

        var hits = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            hits.Add((await counters.HitAsync([counters.Keys.UserMessages("dave")], [2], Window))[0].Count);
        }

        Assert.Equal([1L, 2L, 3L], hits);
    }

    private static RedisConnection Connect(RedisServer redis) =>
        new(Options.Create(new ChatPortalOptions { Redis = redis.ConnectionString, KeyPrefix = "limits:" }), new NodeIdentity("node-a"), new CoordinationHealth(),
            NullLogger<RedisConnection>.Instance);

    private static LimitCounters Counters(RedisConnection connection) =>
        new(connection, Options.Create(new ChatPortalOptions { KeyPrefix = "limits:" }), TimeProvider.System, NullLogger<LimitCounters>.Instance);

    private static long Delta(Dictionary<string, long> before, Dictionary<string, long> after, string command) =>
        after.GetValueOrDefault(command) - before.GetValueOrDefault(command);

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(50);
        }
    }
}
