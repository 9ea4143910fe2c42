using ChatPortal.Core.Generation;

namespace ChatPortal.Core.Redis;

/// <summary>The claim of a conversation: the task and the incarnation of the node that runs it.</summary>
internal sealed record TaskClaim(TaskInfo Task, string Instance);

/// <summary>A task lifecycle event on the events channel.</summary>
internal sealed record LifecycleMessage(TaskLifecycleKind Kind, TaskInfo Task, string Instance, GenerationStatus Status, int Tokens, string? Reason = null, double? CancelLatencyMs = null);

/// <summary>A node's heartbeat: who it is this time (instance), what it runs.</summary>
internal sealed record NodeHeartbeat(string Node, string Instance, DateTimeOffset LastSeen, bool SubscriptionAlive, int Circuits, IReadOnlyList<HeartbeatTask> Tasks, Telemetry.MetricsSnapshot? Metrics = null);

internal sealed record HeartbeatTask(TaskInfo Task, int Tokens);

/// <summary>A follow request: a node wants a task's text.</summary>
internal sealed record FollowRequest(string TaskId, string Node);

/// <summary>
/// A piece of a followed task's stream. <c>K</c>: "s" snapshot (all text from offset 0), "d" delta, "e" end.
/// <c>O</c> is the offset of <c>T</c> in the whole text, so a follower can drop repeats and detect gaps.
/// </summary>
internal sealed record StreamMessage(string K, int O, string? T = null, GenerationStatus? S = null, string? R = null);
