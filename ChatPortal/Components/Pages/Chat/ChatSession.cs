using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;
using ChatPortal.Security;
using Microsoft.Extensions.Options;

namespace ChatPortal.Components.Pages.Chat;

/// <summary>
/// What the chat page shows and does, without a renderer: the open conversation and its messages, the answer running in
/// it (followed from whichever node writes it), and the user's actions on it (send, stop, regenerate, edit, switch branch,
/// clear, choose a model, set instructions). Failures and refusals go to <see cref="ChatNotices"/>, the page's one error
/// strategy. The page is markup over this class: it renders on <see cref="Changed"/> and hands in
/// <see cref="Attach"/> the way back onto its render loop for work that arrives from outside it (a stream, an event).
/// </summary>
public sealed partial class ChatSession(
    IConversationStore store,
    GenerationEngine engine,
    PageMessageLimits limits,
    TaskLifecycleEvents lifecycle,
    ConversationEvents conversationEvents,
    ChatNotices notices,
    IOptions<ChatPortalOptions> options,
    TimeProvider time,
    ILogger<ChatSession> logger) : IDisposable
{
    private Func<Func<Task>, Task> _dispatch = static work => work();
    private CancellationTokenSource? _follow;
    private Task _following = Task.CompletedTask;
    private IDisposable? _lifecycleSubscription;
    private IDisposable? _titleSubscription;

    public string UserId { get; internal set; } = "";

    /// <summary>The open conversation, or null (not loaded yet, or not found).</summary>
    public Conversation? Conversation { get; private set; }

    /// <summary>The branch on screen, as stored.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; private set; } = [];

    /// <summary>The answer being written in the open conversation, or null.</summary>
    public StreamingAnswer? Streaming { get; private set; }

    /// <summary>A Stop was asked for the running answer and has not ended it yet.</summary>
    public bool Stopping { get; private set; }

    /// <summary>The open conversation does not exist or is not the user's.</summary>
    public bool NotFound { get; private set; }

    /// <summary>What the live region says: once when an answer starts, once when it ends.</summary>
    public string Announcement { get; private set; } = "";

    public bool IsAnswering => Streaming is not null;

    /// <summary>Clearing is offered (<see cref="RunningAnswerRule"/>), and there is something to clear.</summary>
    public bool CanClear => Conversation is not null && Messages.Count > 0 && RunningAnswerRule.Allows(HistoryEdit.Clear, IsAnswering);

    /// <summary>Switching to another version of a message is offered (<see cref="RunningAnswerRule"/>).</summary>
    public bool CanSwitchBranch => Conversation is not null && RunningAnswerRule.Allows(HistoryEdit.SwitchBranch, IsAnswering);

    /// <summary>The state changed; raised on the page's render loop (through <see cref="Attach"/>'s dispatch).</summary>
    public event Action? Changed;

    /// <summary>A question that was not sent: it goes back into the composer, so it is not lost.</summary>
    public event Action<string>? Unsent;

    /// <summary>The conversation list should read the store again (a message landed, a title changed).</summary>
    public Func<Task>? RefreshList { get; set; }

    /// <summary>The follow loop of the current or last answer (tests wait on it).</summary>
    internal Task Following => _following;

    /// <summary>
    /// Starts listening for the user's answers and titles (from this node's events). <paramref name="dispatch"/> runs
    /// work on the page's render loop (the component's <c>InvokeAsync</c>); without it, work runs where it arrives.
    /// </summary>
    public void Attach(string userId, Func<Func<Task>, Task>? dispatch = null)
    {
        UserId = userId;
        _dispatch = dispatch ?? _dispatch;
        _lifecycleSubscription ??= lifecycle.Subscribe(OnLifecycle);
        _titleSubscription ??= conversationEvents.Subscribe(OnTitleChanged);
    }

    /// <summary>The conversation "/" opens: the user's latest, or a new one.</summary>
    public async Task<string> LatestOrNewAsync()
    {
        var latest = await store.ListPageAsync(UserId, 1);
        return latest.Items.Count > 0 ? latest.Items[0].Id : (await store.CreateAsync(UserId)).Id;
    }

    public async Task<string> NewConversationAsync() => (await store.CreateAsync(UserId)).Id;

    /// <summary>Opens a conversation: its messages, and the answer running in it if any (followed live).</summary>
    public async Task OpenAsync(string conversationId)
    {
        StopFollowing();
        NotFound = false;
        notices.Clear();
        if (Conversation?.Id != conversationId)
        {
            // Nothing of the conversation being left stays on screen while this one loads: the composer is disabled
            // until it is here, so a message typed meanwhile cannot go to the one left behind.
            Conversation = null;
            Messages = [];
        }

        try
        {
            await RefreshListAsync();
            Conversation = await store.GetAsync(UserId, conversationId);
            if (Conversation is null)
            {
                NotFound = true;
                Messages = [];
                return;
            }

            Messages = Conversation.Messages;
            if (await engine.FindRunningInConversationAsync(conversationId) is { } running)
            {
                Follow(running);
            }
        }
        catch (Exception ex)
        {
            Log.LoadFailed(logger, ex, conversationId);
            notices.Error("The conversation could not be loaded. Try again in a moment.");
        }
    }

    public Task SendAsync(string text) => StartAsync(id => engine.StartAsync(UserId, id, text), text);

    /// <summary>Writes the last answer of the branch on screen again, beside the old one.</summary>
    public Task RegenerateAsync() => StartAsync(id => engine.StartAsync(UserId, id, null), text: null);

    /// <summary>A question sent again with new text: a branch beside it, answered.</summary>
    public Task EditAsync(QuestionEdit edit) => StartAsync(id => engine.EditAsync(UserId, id, edit.QuestionId, edit.Text), edit.Text);

    /// <summary>Shows another version of a message (and the branch below it).</summary>
    public async Task SwitchBranchAsync(string messageId)
    {
        if (Conversation is null)
        {
            return;
        }

        if (!RunningAnswerRule.Allows(HistoryEdit.SwitchBranch, IsAnswering))
        {
            notices.Warn(RunningAnswerRule.Refusal(HistoryEdit.SwitchBranch));
            return;
        }

        try
        {
            await Refused(await store.SelectBranchAsync(UserId, Conversation.Id, messageId), HistoryEdit.SwitchBranch);
        }
        catch (Exception ex)
        {
            Log.ActionFailed(logger, ex, "switch branch", Conversation.Id);
            notices.Error("The other version could not be shown. Try again in a moment.");
        }

        await ReloadAsync();
    }

    /// <summary>Clears the history; the conversation stays.</summary>
    public async Task ClearAsync()
    {
        if (Conversation is null)
        {
            return;
        }

        if (!RunningAnswerRule.Allows(HistoryEdit.Clear, IsAnswering))
        {
            notices.Warn(RunningAnswerRule.Refusal(HistoryEdit.Clear));
            return;
        }

        try
        {
            await Refused(await store.ClearAsync(UserId, Conversation.Id), HistoryEdit.Clear);
        }
        catch (Exception ex)
        {
            Log.ActionFailed(logger, ex, "clear", Conversation.Id);
            notices.Error("The history could not be cleared. Try again in a moment.");
        }

        await ReloadAsync();
    }

    public async Task StopAsync()
    {
        if (Streaming is not { } answer)
        {
            return;
        }

        Stopping = true;
        try
        {
            if ((await engine.CancelAsync(answer.TaskId, UserId)).Outcome == CancelOutcome.Pending)
            {
                notices.Warn("Stopping… the node writing this answer has not confirmed yet.", "pending");
            }
        }
        catch (Exception ex)
        {
            Log.ActionFailed(logger, ex, "stop", Conversation?.Id ?? "");
            notices.Error("Stop could not reach the answer. Try again.");
            Stopping = false;
        }
    }

    /// <summary>The model that writes the conversation's next answers.</summary>
    public async Task ChooseModelAsync(ModelEntry model)
    {
        if (Conversation is null)
        {
            return;
        }

        try
        {
            if (await store.SetModelAsync(UserId, Conversation.Id, model.Id))
            {
                Conversation = Conversation with { ModelId = model.Id };
            }
        }
        catch (Exception ex)
        {
            Log.ActionFailed(logger, ex, "choose a model", Conversation.Id);
            notices.Error("The model could not be changed. Try again in a moment.");
        }
    }

    /// <summary>The conversation's own instructions (null: the default ones), from the next answer on.</summary>
    public async Task SaveInstructionsAsync(string? instructions)
    {
        if (Conversation is null)
        {
            return;
        }

        try
        {
            if (await store.SetInstructionsAsync(UserId, Conversation.Id, instructions))
            {
                Conversation = Conversation with { Instructions = instructions };
                notices.Confirm(instructions is null ? "This conversation uses the default instructions." : "Instructions saved: they apply from the next answer.");
            }
        }
        catch (Exception ex)
        {
            Log.ActionFailed(logger, ex, "save instructions", Conversation.Id);
            notices.Error("The instructions could not be saved. Try again in a moment.");
        }
    }

    /// <summary>A rename from the list: the header follows.</summary>
    public void Renamed(ConversationSummary renamed)
    {
        if (renamed.Id == Conversation?.Id)
        {
            Conversation = Conversation with { Title = renamed.Title };
        }
    }

    /// <summary>What the live region says when an answer ends.</summary>
    public static string Announce(MessageStatus status) => status switch
    {
        MessageStatus.Completed => "Answer complete",
        MessageStatus.Cancelled => "Answer stopped",
        _ => "Answer failed",
    };

    /// <param name="text">The question, if the start sends one: a refused one goes back into the composer.</param>
    private async Task StartAsync(Func<string, Task<StartResult>> begin, string? text)
    {
        if (Conversation is null)
        {
            return;
        }

        notices.Clear();
        StartResult result;
        try
        {
            // The same cluster-wide message limits as the API.
            var limit = await limits.TryAcquireAsync(UserId);
            if (!limit.Allowed)
            {
                notices.Warn($"Too many messages: wait {limit.RetryAfterSeconds} s before sending again.", "limit");
                ReturnUnsent(text);
                return;
            }

            result = await begin(Conversation.Id);
        }
        catch (Exception ex)
        {
            Log.ActionFailed(logger, ex, "start an answer", Conversation.Id);
            notices.Error(ex is StoreUnavailableException
                ? "The database is unreachable, so the message was not sent. Try again in a moment."
                : "The message could not be sent. Try again in a moment.");
            ReturnUnsent(text);
            return;
        }

        switch (result.Outcome)
        {
            case StartOutcome.Started:
                await ReloadAsync();
                Follow(result.Task!.Info, catchUp: false);
                break;
            case StartOutcome.AlreadyRunning:
                notices.Warn("An answer is already being written in this conversation.");
                ReturnUnsent(text);
                if (result.RunningTask is not null)
                {
                    Follow(result.RunningTask);
                }

                break;
            case StartOutcome.QuotaExceeded:
                // The same sentence as the API's 429.
                notices.Warn(result.Quota!.Describe(time.GetUtcNow()), "quota");
                ReturnUnsent(text);
                break;
            case StartOutcome.TooManyAnswers:
                notices.Warn($"You already have {options.Value.Limits.ConcurrentAnswersPerUser} answers being written; wait for one or stop it.", "limit");
                ReturnUnsent(text);
                break;
            case StartOutcome.NothingToRegenerate:
                notices.Warn("There is no question to answer again.");
                break;
            case StartOutcome.MessageNotFound:
                notices.Warn("That message is no longer in this conversation.");
                await ReloadAsync();
                break;
            default:
                NotFound = true;
                break;
        }
    }

    private async Task Refused(HistoryChange change, HistoryEdit edit)
    {
        switch (change)
        {
            case HistoryChange.AnswerRunning:
                // The store's conditional update saw an answer this page did not know of yet (another tab or node).
                notices.Warn(RunningAnswerRule.Refusal(edit));
                if (Conversation is not null && await engine.FindRunningInConversationAsync(Conversation.Id) is { } running)
                {
                    Follow(running);
                }

                break;
            case HistoryChange.NotFound:
                notices.Warn("That is no longer in this conversation.");
                break;
        }
    }

    private void ReturnUnsent(string? text)
    {
        if (text is not null)
        {
            Unsent?.Invoke(text);
        }
    }

    /// <summary>Shows a running task's text: the text so far, then live, from whichever node runs it.</summary>
    /// <param name="catchUp">
    /// Read the messages again once the answer's first words arrive. A task started elsewhere (another tab, another
    /// node) becomes visible, by its claim or its Started event, before its question is stored: the messages read
    /// then may lack the question. The first words are written after the question is stored, so a read then has it.
    /// Not needed for this page's own send, which reads the messages after the engine stored the question.
    /// </param>
    private void Follow(TaskInfo task, bool catchUp = true)
    {
        if (Streaming?.TaskId == task.TaskId)
        {
            return;
        }

        StopFollowing();
        var answer = new StreamingAnswer(task.TaskId, task.StartedAt);
        var follow = new CancellationTokenSource();
        _follow = follow;
        Streaming = answer;
        Stopping = false;
        Announcement = "Writing an answer…";
        // Read off the page's loop (chunks arrive from any thread); what changes the page goes back through the dispatch.
        _following = Task.Run(() => FollowAsync(task, answer, catchUp, follow.Token), CancellationToken.None);
    }

    private async Task FollowAsync(TaskInfo task, StreamingAnswer answer, bool catchUp, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var item in engine.FollowAsync(task, cancellationToken))
            {
                switch (item)
                {
                    case TaskDelta delta:
                        answer.Append(delta.Text);
                        if (catchUp && delta.Text.Length > 0)
                        {
                            catchUp = false;
                            await OnLoopAsync(() => CatchUpAsync(answer));
                        }

                        break;
                    case TaskEnded ended:
                        answer.End(ended);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            // The stream broke (its node went away mid-answer): the stored record, read below, says how it ended.
            Log.FollowFailed(logger, ex, task.TaskId);
        }

        if (!cancellationToken.IsCancellationRequested)
        {
            await OnLoopAsync(() => EndedAsync(answer));
        }
    }

    private async Task CatchUpAsync(StreamingAnswer answer)
    {
        if (ReferenceEquals(Streaming, answer))
        {
            await ReloadAsync();
        }
    }

    private async Task EndedAsync(StreamingAnswer answer)
    {
        if (!ReferenceEquals(Streaming, answer))
        {
            return;
        }

        await ReloadAsync();
        if (Messages.All(m => m.Id != answer.TaskId))
        {
            // The store could not give it back (shared state unreachable): keep what the user saw.
            var status = TaskStates.ToMessageStatus(answer.Ended?.Status ?? GenerationStatus.Failed);
            Messages = [.. Messages, new ChatMessage(answer.TaskId, ChatRole.Assistant, answer.Text, status, answer.StartedAt, answer.Ended?.Reason)];
        }

        Streaming = null;
        Stopping = false;
        Announcement = Announce(Messages.Last(m => m.Id == answer.TaskId).Status); // as stored, or as seen
    }

    private async Task ReloadAsync()
    {
        if (Conversation is null)
        {
            return;
        }

        try
        {
            Conversation = await store.GetAsync(UserId, Conversation.Id) ?? Conversation;
            Messages = Conversation.Messages;
            await RefreshListAsync();
        }
        catch (Exception ex)
        {
            // What is on screen stays; the next event or action reads again.
            Log.ActionFailed(logger, ex, "reload", Conversation.Id);
        }
    }

    private Task RefreshListAsync() => RefreshList?.Invoke() ?? Task.CompletedTask;

    private void OnLifecycle(TaskLifecycleEvent evt)
    {
        if (evt.Info.UserId != UserId)
        {
            return;
        }

        _ = OnLoopAsync(async () =>
        {
            if (evt.Info.ConversationId == Conversation?.Id && evt.Kind == TaskLifecycleKind.Started && Streaming is null)
            {
                // Sent from another tab or node: show it here too.
                await ReloadAsync();
                Follow(evt.Info);
            }
            else if (evt.Kind == TaskLifecycleKind.Ended && Streaming?.TaskId != evt.Info.TaskId)
            {
                await ReloadAsync();
            }
        });
    }

    /// <summary>The model named a conversation after its first answer (on this node).</summary>
    private void OnTitleChanged(ConversationTitleChanged change)
    {
        if (change.UserId != UserId)
        {
            return;
        }

        _ = OnLoopAsync(async () =>
        {
            if (Conversation?.Id == change.ConversationId)
            {
                Conversation = Conversation with { Title = change.Title };
            }

            await RefreshListAsync();
        });
    }

    /// <summary>Runs work from outside the page's loop on it, then renders; a failure is logged and said, never thrown into the event source.</summary>
    private async Task OnLoopAsync(Func<Task> work)
    {
        try
        {
            await _dispatch(async () =>
            {
                try
                {
                    await work();
                }
                catch (Exception ex)
                {
                    Log.ActionFailed(logger, ex, "update", Conversation?.Id ?? "");
                    notices.Error("The page could not be updated. Reload it if it looks out of date.");
                }

                Changed?.Invoke();
            });
        }
        catch (Exception ex)
        {
            // The page is gone (its circuit closed): nothing left to show it on.
            Log.DispatchFailed(logger, ex);
        }
    }

    private void StopFollowing()
    {
        _follow?.Cancel();
        _follow?.Dispose();
        _follow = null;
        Streaming = null;
        Stopping = false;
    }

    public void Dispose()
    {
        _lifecycleSubscription?.Dispose();
        _lifecycleSubscription = null;
        _titleSubscription?.Dispose();
        _titleSubscription = null;
        StopFollowing();
    }

    private static partial class Log
    {
        [LoggerMessage(7100, LogLevel.Warning, "Loading conversation {ConversationId} failed.")]
        public static partial void LoadFailed(ILogger logger, Exception exception, string conversationId);

        [LoggerMessage(7101, LogLevel.Warning, "The chat could not {Action} in conversation {ConversationId}.")]
        public static partial void ActionFailed(ILogger logger, Exception exception, string action, string conversationId);

        [LoggerMessage(7102, LogLevel.Warning, "Following task {TaskId} failed.")]
        public static partial void FollowFailed(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(7103, LogLevel.Debug, "A chat update arrived after its page closed.")]
        public static partial void DispatchFailed(ILogger logger, Exception exception);
    }
}
