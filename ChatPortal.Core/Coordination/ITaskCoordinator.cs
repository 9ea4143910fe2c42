using ChatPortal.Core.Generation;

namespace ChatPortal.Core.Coordination;

/// <summary>
/// What the nodes agree on: which task runs in which conversation and on which node, how a cancel
/// reaches the owner, how a follower on another node gets the owner's text. The in-memory coordinator
/// serves one node; the Redis coordinator serves a cluster with O(1) round trips per answer.
/// </summary>
public interface ITaskCoordinator
{
    /// <summary>True when the tasks of other nodes are visible (Redis mode).</summary>
    bool IsDistributed { get; }

    /// <summary>
    /// Claims the conversation for the task, in one round trip. Fails with the running task when the
    /// conversation already has one (on any node).
    /// </summary>
    Task<ClaimResult> RegisterAsync(TaskInfo task, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tells every node the task started, once its question is stored (so nobody sees an answer without its
    /// question). Fire and forget.
    /// </summary>
    RedisCost AnnounceStarted(TaskInfo task);

    /// <summary>Releases the claim and announces the final state, in one round trip.</summary>
    Task<RedisCost> CompleteAsync(TaskInfo task, TaskEnded outcome, int tokens, CancellationToken cancellationToken = default);

    /// <summary>
    /// The running task with this id on any node (possibly of a node that died), or null. Without
    /// <paramref name="checkOwner"/> the owner's liveness and token count are not read (one round trip less,
    /// for Stop: a cancel sent to a dead owner simply goes unconfirmed).
    /// </summary>
    Task<RunningTask?> FindRunningAsync(string taskId, bool checkOwner = true, CancellationToken cancellationToken = default);

    /// <summary>The task running in a conversation on any node, or null.</summary>
    Task<TaskInfo?> FindRunningInConversationAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Every running task on every node, with its token count as last reported.</summary>
    Task<IReadOnlyList<RunningTask>> ListRunningAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks the owner node of a task to stop it and waits up to <paramref name="wait"/> for its final state.
    /// Only for tasks of another node: the engine stops its own tasks without the coordinator.
    /// </summary>
    Task<TaskEnded?> CancelRemoteAsync(TaskInfo task, TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>Text so far and live text of a task another node runs.</summary>
    IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, CancellationToken cancellationToken = default);
}

public sealed record ClaimResult(bool Claimed, TaskInfo? RunningTask, RedisCost Cost = default)
{
    public static ClaimResult Success { get; } = new(true, null);

    public static ClaimResult Conflict(TaskInfo? running) => new(false, running);
}

/// <summary>Redis commands and round trips one coordination step cost (zero in memory).</summary>
public readonly record struct RedisCost(int Commands, int RoundTrips)
{
    public static RedisCost operator +(RedisCost a, RedisCost b) => new(a.Commands + b.Commands, a.RoundTrips + b.RoundTrips);
}

/// <summary>A task holding its conversation's claim. <paramref name="OwnerAlive"/> is false once its node stopped reporting.</summary>
public sealed record RunningTask(TaskInfo Info, int Tokens, bool OwnerAlive = true);
