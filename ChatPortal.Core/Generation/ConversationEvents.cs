namespace ChatPortal.Core.Generation;

/// <summary>A conversation's title changed on this node (written by the model after its first answer).</summary>
public sealed record ConversationTitleChanged(string ConversationId, string UserId, string Title);

/// <summary>Changes of conversations made by this node in the background, for the pages it serves.</summary>
public sealed class ConversationEvents
{
    private readonly Lock _gate = new();
    private Action<ConversationTitleChanged>[] _listeners = [];

    public IDisposable Subscribe(Action<ConversationTitleChanged> listener)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners, listener];
        }

        return new Subscription(() =>
        {
            lock (_gate)
            {
                _listeners = [.. _listeners.Where(l => l != listener)];
            }
        });
    }

    public void Raise(ConversationTitleChanged change)
    {
        foreach (var listener in _listeners)
        {
            try
            {
                listener(change);
            }
            catch
            {
                // A listener's failure is its own (components dispatch their exceptions themselves).
            }
        }
    }

    private sealed class Subscription(Action unsubscribe) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                unsubscribe();
            }
        }
    }
}
