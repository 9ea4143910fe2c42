using System.Collections.Concurrent;

namespace ChatPortal.Core.Generation;

/// <summary>The tasks this node owns right now. The coordinator reads it to act on cancels and follows.</summary>
public sealed class LocalTaskRegistry
{
    private readonly ConcurrentDictionary<string, GenerationTask> _tasks = new(StringComparer.Ordinal);

    public int Count => _tasks.Count;

    public IReadOnlyCollection<GenerationTask> All => [.. _tasks.Values];

    public GenerationTask? Find(string taskId) => _tasks.GetValueOrDefault(taskId);

    internal void Add(GenerationTask task) => _tasks[task.Id] = task;

    internal void Remove(GenerationTask task) => _tasks.TryRemove(new KeyValuePair<string, GenerationTask>(task.Id, task));

    /// <summary>Trips the token of a local task; false when this node does not run it.</summary>
    public bool TryCancel(string taskId) => _tasks.TryGetValue(taskId, out var task) && task.RequestCancel();
}
