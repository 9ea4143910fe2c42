using System.Collections.Concurrent;

namespace ChatPortal.Core.Tasks;

/// <summary>The tasks this node owns right now. The coordinator reads it to act on cancels and follows.</summary>
public sealed class LocalTaskRegistry
{
    private readonly ConcurrentDictionary<string, GenerationTask> _tasks = new(StringComparer.Ordinal);

    public int Count => _tasks.Count;

    public IReadOnlyCollection<GenerationTask> All => [.. _tasks.Values];

    public GenerationTask? Find(string taskId) => _tasks.GetValueOrDefault(taskId);

    internal void Add(GenerationTask task) => _tasks[task.Id] = task;

    internal void Remove(GenerationTask task) => _tasks.TryRemove(new KeyValuePair<string, GenerationTask>(task.Id, task));

    /// <summary>
    /// Trips the token of a local task; false when this node does not run it, or when <paramref name="userId"/> is
    /// given and the task is not that user's (a Stop is pushed before the database has checked whose task it is).
    /// </summary>
    public bool TryCancel(string taskId, string? userId = null) =>
        _tasks.TryGetValue(taskId, out var task) && (userId is null || task.Info.UserId == userId) && task.RequestCancel();
}
