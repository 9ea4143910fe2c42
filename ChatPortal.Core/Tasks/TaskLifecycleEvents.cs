namespace ChatPortal.Core.Tasks;

public enum TaskLifecycleKind
{
    Started,
    Ended,
}

public sealed record TaskLifecycleEvent(TaskLifecycleKind Kind, TaskInfo Info, GenerationStatus Status, int Tokens, double? CancelLatencyMs = null);

/// <summary>
/// Starts and ends of tasks on every node, for pages and the dashboard. The engine raises this node's
/// events; the Redis coordinator raises the events of other nodes from one subscription.
/// </summary>
public sealed class TaskLifecycleEvents
{
    private readonly Lock _gate = new();
    private Action<TaskLifecycleEvent>[] _listeners = [];

    public int ListenerCount => _listeners.Length;

    public IDisposable Subscribe(Action<TaskLifecycleEvent> listener)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners, listener];
        }

        return new Subscription(this, listener);
    }

    public void Raise(TaskLifecycleEvent evt)
    {
        foreach (var listener in _listeners)
        {
            try
            {
                listener(evt);
            }
            catch
            {
                // A listener's failure is its own (components dispatch their exceptions themselves).
            }
        }
    }

    private void Unsubscribe(Action<TaskLifecycleEvent> listener)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners.Where(l => l != listener)];
        }
    }

    private sealed class Subscription(TaskLifecycleEvents owner, Action<TaskLifecycleEvent> listener) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(listener);
            }
        }
    }
}
