using ChatPortal.Core.Tasks;

namespace ChatPortal.Core.Coordination;

/// <summary>
/// The fast path between nodes: lifecycle events, the Stop push, following another node's stream, and node
/// presence. Nothing here decides who owns an answer (the database does, through the conversation store):
/// a lost message only makes something slower, never wrong. The in-process coordinator serves one node; the
/// Redis coordinator serves a cluster with O(1) commands per answer and none per chunk.
/// </summary>
public interface ITaskCoordinator
{
    /// <summary>True when the tasks of other nodes are reachable (Redis mode).</summary>
    bool IsDistributed { get; }

    /// <summary>Tells every node an answer started, once its question is stored. Fire and forget.</summary>
    RedisCost AnnounceStarted(TaskInfo task);

    /// <summary>
    /// Tells every node an answer ended, once its final record is stored (followers get the rest of its text
    /// first). Fire and forget.
    /// </summary>
    RedisCost AnnounceEnded(TaskInfo task, TaskEnded outcome, int tokens, double? cancelLatencyMs);

    /// <summary>Starts listening for the end of a task (register before asking for the Stop, so the end cannot be missed).</summary>
    TaskEndWaiter WaitForEnd(string taskId);

    /// <summary>
    /// Pushes a Stop to whichever node runs the task. Fire and forget. It may go out before the database has
    /// checked whose task it is: the owner trips the task only if it is <paramref name="userId"/>'s (null: an admin's
    /// Stop, any task).
    /// </summary>
    RedisCost PushCancel(string taskId, string? userId);

    /// <summary>Text so far and live text of a task another node runs.</summary>
    IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, CancellationToken cancellationToken = default);

    /// <summary>Token counts of other nodes' running tasks, as their nodes last reported them.</summary>
    IReadOnlyDictionary<string, int> RemoteTokenCounts();
}

/// <summary>Redis commands and round trips one coordination step cost (zero in memory).</summary>
public readonly record struct RedisCost(int Commands, int RoundTrips)
{
    public static RedisCost operator +(RedisCost a, RedisCost b) => new(a.Commands + b.Commands, a.RoundTrips + b.RoundTrips);
}

/// <summary>A running answer with its token count. <paramref name="OwnerAlive"/> is false once its owner's lease lapsed.</summary>
public sealed record RunningTask(TaskInfo Info, int Tokens, bool OwnerAlive = true);

/// <summary>Waits for the end of one task, as announced by its owner. Dispose to stop listening.</summary>
public sealed class TaskEndWaiter(string taskId, Action<TaskEndWaiter> release) : IDisposable
{
    private readonly TaskCompletionSource<TaskEnded> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public string TaskId { get; } = taskId;

    public Task<TaskEnded> Ended => _ended.Task;

    public void Complete(TaskEnded ended) => _ended.TrySetResult(ended);

    /// <summary>The end, or null when it did not come within <paramref name="wait"/>.</summary>
    public async Task<TaskEnded?> WaitAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _ended.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            release(this);
        }
    }
}

/// <summary>The waiters of each task id, completed by whatever hears of the task's end.</summary>
public sealed class TaskEndWaiters
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, List<TaskEndWaiter>> _waiters = new(StringComparer.Ordinal);

    public TaskEndWaiter Add(string taskId)
    {
        var waiter = new TaskEndWaiter(taskId, Remove);
        var list = _waiters.GetOrAdd(taskId, _ => []);
        lock (list)
        {
            list.Add(waiter);
        }

        return waiter;
    }

    public void Complete(string taskId, TaskEnded ended)
    {
        if (_waiters.TryGetValue(taskId, out var list))
        {
            lock (list)
            {
                foreach (var waiter in list)
                {
                    waiter.Complete(ended);
                }
            }
        }
    }

    private void Remove(TaskEndWaiter waiter)
    {
        if (_waiters.TryGetValue(waiter.TaskId, out var list))
        {
            lock (list)
            {
                list.Remove(waiter);
                if (list.Count == 0)
                {
                    _waiters.TryRemove(new KeyValuePair<string, List<TaskEndWaiter>>(waiter.TaskId, list));
                }
            }
        }
    }
}
