using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ChatPortal.Core.Generation;

namespace ChatPortal.Core.Coordination;

/// <summary>The single-node coordinator: every task is local, so cancel and follow never leave the process.</summary>
public sealed class InMemoryTaskCoordinator(LocalTaskRegistry registry) : ITaskCoordinator
{
    private readonly ConcurrentDictionary<string, TaskInfo> _claims = new(StringComparer.Ordinal);

    public bool IsDistributed => false;

    public Task<ClaimResult> RegisterAsync(TaskInfo task, CancellationToken cancellationToken = default)
    {
        var holder = _claims.GetOrAdd(task.ConversationId, task);
        return Task.FromResult(ReferenceEquals(holder, task) ? ClaimResult.Success : ClaimResult.Conflict(holder));
    }

    public RedisCost AnnounceStarted(TaskInfo task) => default;

    public Task<RedisCost> CompleteAsync(TaskInfo task, TaskEnded outcome, int tokens, CancellationToken cancellationToken = default)
    {
        _claims.TryRemove(new KeyValuePair<string, TaskInfo>(task.ConversationId, task));
        return Task.FromResult(default(RedisCost));
    }

    public Task<RunningTask?> FindRunningAsync(string taskId, bool checkOwner = true, CancellationToken cancellationToken = default) =>
        Task.FromResult(registry.Find(taskId) is { } task ? new RunningTask(task.Info, task.Tokens) : null);

    public Task<TaskInfo?> FindRunningInConversationAsync(string conversationId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_claims.GetValueOrDefault(conversationId));

    public Task<IReadOnlyList<RunningTask>> ListRunningAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<RunningTask> tasks = registry.All.Select(t => new RunningTask(t.Info, t.Tokens)).ToList();
        return Task.FromResult(tasks);
    }

    public Task<TaskEnded?> CancelRemoteAsync(TaskInfo task, TimeSpan wait, CancellationToken cancellationToken = default) =>
        Task.FromResult<TaskEnded?>(null);

    public async IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        yield break;
    }
}
