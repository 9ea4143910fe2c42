using ChatPortal.Core.Tasks;

namespace ChatPortal.Core.Redis;

// The wire format of the Redis channels, all JSON (camelCase, enums as names). Channel names: RedisKeys.

/// <summary>A task lifecycle event on the events channel (<c>{prefix}events</c>).</summary>
internal sealed record LifecycleMessage(TaskLifecycleKind Kind, TaskInfo Task, string Instance, GenerationStatus Status, int Tokens, string? Reason = null, double? CancelLatencyMs = null);

/// <summary>A node's presence (<c>{prefix}node:{id}:alive</c>, with a TTL): who it is this time, what it runs.</summary>
internal sealed record NodeHeartbeat(string Node, string Instance, DateTimeOffset LastSeen, bool SubscriptionAlive, int Circuits, IReadOnlyList<HeartbeatTask> Tasks, Telemetry.MetricsSnapshot? Metrics = null);

internal sealed record HeartbeatTask(TaskInfo Task, int Tokens);

/// <summary>A follow request on the follow channel: a node wants a task's text.</summary>
internal sealed record FollowRequest(string TaskId, string Node);

public enum StreamMessageKind
{
    /// <summary>All text from offset 0 (the answer to a follow request).</summary>
    Snapshot,

    /// <summary>Text from <see cref="StreamMessage.Offset"/> on.</summary>
    Delta,

    /// <summary>The end, with the final state; <see cref="StreamMessage.Offset"/> is the whole text's length.</summary>
    End,
}

/// <summary>
/// A piece of a followed task's stream on <c>{prefix}stream:{taskId}</c>. <see cref="Offset"/> is where
/// <see cref="Text"/> starts in the whole answer, so a follower drops repeats and detects gaps.
/// </summary>
internal sealed record StreamMessage(StreamMessageKind Kind, int Offset, string? Text = null, GenerationStatus? Status = null, string? Reason = null);

/// <summary>
/// The cancel channel (<c>{prefix}cancel</c>) carries bare task ids, and the watchdog's pings, which start
/// with <see cref="PingPrefix"/>.
/// </summary>
internal static class CancelChannelFormat
{
    public const string PingPrefix = "ping:";

    private const char UserSeparator = ' ';

    /// <summary>A Stop: the task id, then the user whose Stop it is (none for an admin's). Ids hold no spaces.</summary>
    public static string Stop(string taskId, string? userId) => userId is null ? taskId : $"{taskId}{UserSeparator}{userId}";

    public static (string TaskId, string? UserId) ParseStop(string text)
    {
        var at = text.IndexOf(UserSeparator, StringComparison.Ordinal);
        return at < 0 ? (text, null) : (text[..at], text[(at + 1)..]);
    }
}
