using System.Runtime.CompilerServices;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Core.Coordination;

/// <summary>The single-node coordinator: every task is local, so events, Stop and follow never leave the process.</summary>
public sealed class InMemoryTaskCoordinator(LocalTaskRegistry registry) : ITaskCoordinator
{
    private readonly TaskEndWaiters _waiters = new();

    public bool IsDistributed => false;

    public RedisCost AnnounceStarted(TaskInfo task) => default;

    public RedisCost AnnounceEnded(TaskInfo task, TaskEnded outcome, int tokens, double? cancelLatencyMs)
    {
        _waiters.Complete(task.TaskId, outcome);
        return default;
    }

    public TaskEndWaiter WaitForEnd(string taskId) => _waiters.Add(taskId);

    public RedisCost PushCancel(string taskId, string? userId)
    {
        registry.TryCancel(taskId, userId);
        return default;
    }

    public async IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    public IReadOnlyDictionary<string, int> RemoteTokenCounts() => new Dictionary<string, int>();
}
