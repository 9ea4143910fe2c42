using System.Text;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Components.Pages.Chat;

/// <summary>
/// The answer a page is showing while it streams. The follow loop appends to it from any thread; the
/// streaming message item renders it, batched.
/// </summary>
public sealed class StreamingAnswer(string taskId, DateTimeOffset startedAt)
{
    private readonly StringBuilder _text = new();
    private readonly Lock _gate = new();

    public string TaskId { get; } = taskId;

    public DateTimeOffset StartedAt { get; } = startedAt;

    public TaskEnded? Ended { get; private set; }

    public event Action? Changed;

    public string Text
    {
        get
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }
    }

    public void Append(string delta)
    {
        lock (_gate)
        {
            _text.Append(delta);
        }

        Changed?.Invoke();
    }

    public void End(TaskEnded ended)
    {
        Ended = ended;
        Changed?.Invoke();
    }
}
