namespace ChatPortal.Core.Storage;

/// <summary>
/// This node's view of the database, from the outcome of its own statements: for the banner, /readyz and the
/// dashboard. Down from the first failed statement until one succeeds again.
/// </summary>
public sealed class DatabaseHealth(TimeProvider time)
{
    private volatile bool _down;

    public event Action? Changed;

    public bool IsDown => _down;

    public string? LastError { get; private set; }

    public DateTimeOffset? DownSince { get; private set; }

    public string Provider { get; init; } = "";

    /// <summary>Answers that ended on this node and wait in its memory for the database to come back.</summary>
    public int AnswersWaiting => Volatile.Read(ref _answersWaiting);

    private int _answersWaiting;

    public void SetAnswersWaiting(int count)
    {
        if (Interlocked.Exchange(ref _answersWaiting, count) != count)
        {
            Changed?.Invoke();
        }
    }

    public void ReportFailure(Exception exception)
    {
        LastError = exception.GetBaseException().Message;
        if (!_down)
        {
            DownSince = time.GetUtcNow();
            _down = true;
            Changed?.Invoke();
        }
    }

    public void ReportSuccess()
    {
        if (_down)
        {
            _down = false;
            DownSince = null;
            Changed?.Invoke();
        }
    }
}
