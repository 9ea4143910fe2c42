using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Every Redis key and channel name, built from the configured prefix. Keys carry a hash tag
/// (<c>{…}</c>) on the entity they belong to, and no command or script touches keys of two entities,
/// so the scheme works on Redis Cluster too.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>The running task of a conversation (the claim): JSON, SET NX.</summary>
    public RedisKey ConversationTask(string conversationId) => $"{Prefix}conv:{{{conversationId}}}:task";

    /// <summary>A conversation: hash of owner and creation time.</summary>
    public RedisKey Conversation(string conversationId) => $"{Prefix}conv:{{{conversationId}}}";

    /// <summary>A conversation's messages: list of JSON, oldest first.</summary>
    public RedisKey Messages(string conversationId) => $"{Prefix}conv:{{{conversationId}}}:messages";

    /// <summary>A user's conversations: sorted set scored by last update (unix ms).</summary>
    public RedisKey UserConversations(string userId) => $"{Prefix}user:{{{userId}}}:conversations";

    /// <summary>A node's heartbeat (TTL): its incarnation and its running tasks.</summary>
    public RedisKey NodeAlive(string nodeId) => $"{Prefix}node:{{{nodeId}}}:alive";

    /// <summary>A node's last task list, without TTL, so a dead node's claims can be released.</summary>
    public RedisKey NodeTasks(string nodeId) => $"{Prefix}node:{{{nodeId}}}:tasks";

    /// <summary>The set of node ids that have ever reported.</summary>
    public RedisKey Nodes => $"{Prefix}{{nodes}}";

    /// <summary>The durable cancel flag of a task (TTL): covers what pub/sub can drop.</summary>
    public RedisKey CancelFlag(string taskId) => $"{Prefix}cancel:{{{taskId}}}";

    /// <summary>Taken by the one janitor that records a dead node's task as failed.</summary>
    public RedisKey JanitorLock(string taskId) => $"{Prefix}janitor:{{{taskId}}}";

    public RedisKey DataProtectionKeys => $"{Prefix}dataprotection:keys";

    /// <summary>Cancel requests (payload: task id) and the watchdog's own pings. One subscription per node.</summary>
    public RedisChannel CancelChannel => RedisChannel.Literal($"{Prefix}cancel");

    /// <summary>Task lifecycle events (started, ended), for cancel acknowledgements, pages and dashboards.</summary>
    public RedisChannel EventsChannel => RedisChannel.Literal($"{Prefix}events");

    /// <summary>Follow requests: "someone on another node wants this task's text".</summary>
    public RedisChannel FollowChannel => RedisChannel.Literal($"{Prefix}follow");

    /// <summary>A followed task's text: a snapshot, then batches, then the end.</summary>
    public RedisChannel TaskStream(string taskId) => RedisChannel.Literal($"{Prefix}stream:{taskId}");

    public string SignalRPrefix => $"{Prefix}signalr";
}
