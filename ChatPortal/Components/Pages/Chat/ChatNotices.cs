namespace ChatPortal.Components.Pages.Chat;

/// <summary>How much a notice matters: a confirmation passes, a problem stays until it is closed or the next action.</summary>
public enum NoticeLevel
{
    /// <summary>Something worked ("Instructions saved"): shown briefly.</summary>
    Confirmation,

    /// <summary>Something did not happen and the user may act on it (a refusal, a limit).</summary>
    Warning,

    /// <summary>Something failed (the database or the stream): try again.</summary>
    Error,
}

/// <param name="Kind">A stable word for tests and styling: <c>error</c>, <c>refused</c>, <c>limit</c>, <c>quota</c>, <c>pending</c>, <c>done</c>.</param>
public sealed record ChatNotice(string Text, NoticeLevel Level, string Kind);

/// <summary>
/// The chat page's one error strategy (scoped: one per circuit): whatever the page, its state and its child components
/// have to say about a failure or a refusal (from the store, the engine, a stream, a limit) is said here, and
/// <see cref="ChatNoticeBar"/> shows it: problems as one alert above the thread (the last one wins), confirmations as a
/// short toast. Nothing in the chat calls a snackbar or keeps an error field of its own.
/// </summary>
public sealed class ChatNotices
{
    /// <summary>The problem on screen, or null.</summary>
    public ChatNotice? Problem { get; private set; }

    /// <summary>A problem was shown or closed.</summary>
    public event Action? Changed;

    /// <summary>A confirmation to show briefly.</summary>
    public event Action<ChatNotice>? Confirmed;

    public void Error(string text) => Show(new ChatNotice(text, NoticeLevel.Error, "error"));

    public void Warn(string text, string kind = "refused") => Show(new ChatNotice(text, NoticeLevel.Warning, kind));

    public void Confirm(string text, string kind = "done") => Confirmed?.Invoke(new ChatNotice(text, NoticeLevel.Confirmation, kind));

    /// <summary>Closes the problem on screen (the user closed it, or started something new).</summary>
    public void Clear()
    {
        if (Problem is null)
        {
            return;
        }

        Problem = null;
        Changed?.Invoke();
    }

    private void Show(ChatNotice notice)
    {
        Problem = notice;
        Changed?.Invoke();
    }
}
