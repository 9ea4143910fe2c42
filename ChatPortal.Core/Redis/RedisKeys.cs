using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Every Redis key and channel name, built from the configured prefix. Keys carry a hash tag
/// (<c>{…}</c>) on the entity they belong to, and no command or script touches keys of two entities,
/// so the scheme works on Redis Cluster too. Channels are sharded (SSUBSCRIBE/SPUBLISH, Redis 7.0 or later):
/// on a cluster each lives on the one shard that owns its name's slot, instead of every message being
/// broadcast to every shard; on a single server they behave as plain channels.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>A node's heartbeat (TTL): its incarnation and its running tasks.</summary>
    public RedisKey NodeAlive(string nodeId) => $"{Prefix}node:{{{nodeId}}}:alive";

    /// <summary>The set of node ids that have ever reported.</summary>
    public RedisKey Nodes => $"{Prefix}{{nodes}}";

    /// <summary>BENCHMARK BASELINE ONLY: the polled cancel flag of the fix ChatPortal replaces.</summary>
    public RedisKey CancelFlag(string taskId) => $"{Prefix}cancel:{{{taskId}}}";

    /// <summary>Cancel requests (payload: task id) and the watchdog's own pings. One subscription per node.</summary>
    public RedisChannel CancelChannel => RedisChannel.Sharded($"{Prefix}cancel");

    /// <summary>Task lifecycle events (started, ended), for cancel acknowledgements, pages and dashboards.</summary>
    public RedisChannel EventsChannel => RedisChannel.Sharded($"{Prefix}events");

    /// <summary>Follow requests: "someone on another node wants this task's text".</summary>
    public RedisChannel FollowChannel => RedisChannel.Sharded($"{Prefix}follow");

    /// <summary>A followed task's text: a snapshot, then batches, then the end.</summary>
    public RedisChannel TaskStream(string taskId) => RedisChannel.Sharded($"{Prefix}stream:{taskId}");

    public string CachePrefix => $"{Prefix}cache:";
}
