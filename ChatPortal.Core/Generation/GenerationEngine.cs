using System.Diagnostics;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;
using AiRole = Microsoft.Extensions.AI.ChatRole;
using ChatMessage = ChatPortal.Core.Conversations.ChatMessage;
using ChatRole = ChatPortal.Core.Conversations.ChatRole;

namespace ChatPortal.Core.Generation;

/// <summary>
/// Runs answers as tasks owned by this node. One task per conversation across the cluster (a claim in the
/// database), exactly one final record per task (a commit fenced by that claim), the answer stored with the
/// text generated so far, and nothing per chunk: one transaction when a task starts, one when it ends.
/// </summary>
public sealed partial class GenerationEngine(
    IConversationStore store,
    ITaskCoordinator coordinator,
    AnswerCommitter committer,
    LocalTaskRegistry registry,
    TaskLifecycleEvents events,
    IChatClient chatClient,
    NodeIdentity node,
    NodeInstance instance,
    ChatPortalMetrics metrics,
    IOptions<ChatPortalOptions> options,
    TimeProvider time,
    ILogger<GenerationEngine> logger)
{
    /// <summary>How long a cancel waits for the owner to confirm the stop (CONTRACT: 2 s, then 202).</summary>
    public static readonly TimeSpan CancelConfirmWait = TimeSpan.FromSeconds(2);

    /// <summary>While the owner has not confirmed a Stop by push, the stored record is read this often.</summary>
    private static readonly TimeSpan CancelStoredPoll = TimeSpan.FromMilliseconds(250);

    public const string TakenOverReason = "This answer was stopped: its node stopped responding and the conversation was released.";

    private readonly IChunkObserver? _chunkObserver = coordinator as IChunkObserver;
    private volatile bool _shuttingDown;

    public string NodeId => node.Id;

    public LocalTaskRegistry LocalTasks => registry;

    /// <summary>Starts an answer to <paramref name="text"/> on the branch on screen, or regenerates its last answer when it is null.</summary>
    public Task<StartResult> StartAsync(string userId, string conversationId, string? text, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text, branchFrom: null, cancellationToken);

    /// <summary>A new version of question <paramref name="questionId"/> (a branch beside it), and its answer.</summary>
    public Task<StartResult> EditAsync(string userId, string conversationId, string questionId, string text, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text, questionId, cancellationToken);

    /// <summary>Writes answer <paramref name="answerId"/> again: a new answer beside it, to the same question; the old one stays.</summary>
    public Task<StartResult> RegenerateAsync(string userId, string conversationId, string answerId, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text: null, answerId, cancellationToken);

    private async Task<StartResult> BeginAsync(string userId, string conversationId, string? text, string? branchFrom, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var task = new GenerationTask(new TaskInfo(Ids.NewTaskId(conversationId), conversationId, userId, node.Id, now));

        // Local first: a Stop that arrives the moment the claim is visible finds the task.
        registry.Add(task);
        var started = Stopwatch.GetTimestamp();
        AnswerStartResult claim;
        try
        {
            claim = await store.StartAnswerAsync(
                new AnswerStart(task.Id, conversationId, userId, node.Id, instance.Id, now, text, options.Value.Limits.ConcurrentAnswersPerUser) { BranchFrom = branchFrom },
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            registry.Remove(task);
            task.Dispose();
            throw;
        }

        if (claim.Outcome != AnswerStartOutcome.Claimed)
        {
            registry.Remove(task);
            task.Dispose();
            return claim.Outcome switch
            {
                // Running may be null: the holder released its claim between the refused claim and the re-read.
                AnswerStartOutcome.AnswerRunning => new StartResult(StartOutcome.AlreadyRunning, RunningTask: claim.Running is { } running ? ToInfo(running) : null),
                AnswerStartOutcome.NothingToRegenerate => new StartResult(StartOutcome.NothingToRegenerate),
                AnswerStartOutcome.TooManyAnswers => new StartResult(StartOutcome.TooManyAnswers),
                AnswerStartOutcome.MessageNotFound => new StartResult(StartOutcome.MessageNotFound),
                _ => new StartResult(StartOutcome.ConversationNotFound),
            };
        }

        task.Claimed(claim.Fence, claim.ParentId);
        var startMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        // Announced only now that its question is stored: no node shows an answer without its question.
        var cost = coordinator.AnnounceStarted(task.Info);
        Log.Started(logger, task.Id, conversationId, node.Id);
        events.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Started, task.Info, GenerationStatus.Running, 0));

        var prompt = BuildPrompt(claim.History!, claim.Instructions);
        using (ExecutionContext.SuppressFlow())
        {
            // The task belongs to the node: it does not flow the request's context or token.
            _ = Task.Run(() => RunAsync(task, prompt, cost, startMs), CancellationToken.None);
        }

        return new StartResult(StartOutcome.Started, task);
    }

    /// <summary>
    /// Stops a task wherever it runs and answers with its final state. <paramref name="userId"/> null means
    /// an administrator; otherwise a task of another user is not found.
    /// </summary>
    public async Task<CancelResult> CancelAsync(string taskId, string? userId, CancellationToken cancellationToken = default)
    {
        if (!Ids.TryGetConversationId(taskId, out var conversationId))
        {
            return CancelResult.NotFound(taskId);
        }

        var accepted = Stopwatch.GetTimestamp();
        if (registry.Find(taskId) is { } local)
        {
            // Same node: neither Redis nor the database stands between the click and the token.
            if (userId is not null && local.Info.UserId != userId)
            {
                return CancelResult.NotFound(taskId);
            }

            var wasRunning = local.RequestCancel();
            var ended = await WaitAsync(local.Completion, cancellationToken).ConfigureAwait(false);
            if (wasRunning)
            {
                metrics.CancelAnswered(ended is not null, Stopwatch.GetElapsedTime(accepted));
            }

            return ended is null
                ? new CancelResult(CancelOutcome.Pending, taskId, GenerationStatus.Running, node.Id)
                : new CancelResult(CancelOutcome.Stopped, taskId, ended.Status, node.Id);
        }

        // Another node's (or finished). Listen for its end first, so the end cannot slip past; then push the Stop to
        // the owner and record it in the database in parallel: the push names the user, and the owner acts only on
        // its own user's task (or an admin's Stop), so it need not wait for the database's check of whose task it is.
        using var waiter = coordinator.WaitForEnd(taskId);
        coordinator.PushCancel(taskId, userId);
        var active = await store.RequestCancelAsync(taskId, conversationId, userId, cancellationToken).ConfigureAwait(false);
        if (active is null)
        {
            // Not running anywhere (or ended while the Stop was on its way): a finished task answers with its final
            // state (idempotent cancel).
            var view = await FindEndedAsync(taskId, conversationId, userId, cancellationToken).ConfigureAwait(false);
            return view is null ? CancelResult.NotFound(taskId) : new CancelResult(CancelOutcome.Stopped, taskId, view.Status, view.Node);
        }

        var status = await WaitForStopAsync(waiter, active, cancellationToken).ConfigureAwait(false);
        metrics.CancelAnswered(status is not null, Stopwatch.GetElapsedTime(accepted));
        return status is null
            ? new CancelResult(CancelOutcome.Pending, taskId, GenerationStatus.Running, active.Node)
            : new CancelResult(CancelOutcome.Stopped, taskId, status.Value, active.Node);
    }

    /// <summary>The owner's end event (push), or the stored final record when no event comes (Redis down).</summary>
    private async Task<GenerationStatus?> WaitForStopAsync(TaskEndWaiter waiter, ActiveAnswer active, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(CancelConfirmWait.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            if (await waiter.WaitAsync(left < CancelStoredPoll ? left : CancelStoredPoll, cancellationToken).ConfigureAwait(false) is { } ended)
            {
                return ended.Status;
            }

            try
            {
                if (await store.FindAnswerAsync(active.ConversationId, active.TaskId, cancellationToken).ConfigureAwait(false) is { } stored)
                {
                    return ToGenerationStatus(stored.Message.Status);
                }
            }
            catch (StoreUnavailableException)
            {
                // The owner cannot store its end either; keep listening for its event until the deadline.
            }
        }
    }

    /// <summary>A task, running on any node or ended; null when unknown or not the user's.</summary>
    public async Task<TaskView?> GetTaskAsync(string taskId, string? userId, CancellationToken cancellationToken = default)
    {
        if (!Ids.TryGetConversationId(taskId, out var conversationId))
        {
            return null;
        }

        if (registry.Find(taskId) is { } local)
        {
            // Final only once stored: until then a reader of the conversation would still see it running.
            var status = local.Completion.IsCompletedSuccessfully ? local.Completion.Result.Status : GenerationStatus.Running;
            return userId is null || local.Info.UserId == userId
                ? new TaskView(taskId, conversationId, local.Info.UserId, node.Id, status, local.Tokens)
                : null;
        }

        if (await store.FindActiveAnswerAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } active && active.TaskId == taskId)
        {
            return userId is null || active.UserId == userId
                ? new TaskView(taskId, conversationId, active.UserId, active.Node, GenerationStatus.Running, coordinator.RemoteTokenCounts().GetValueOrDefault(taskId))
                : null;
        }

        return await FindEndedAsync(taskId, conversationId, userId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The answer running in a conversation on any node, or null.</summary>
    public async Task<TaskInfo?> FindRunningInConversationAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        if (registry.All.FirstOrDefault(t => t.Info.ConversationId == conversationId && t.Status == GenerationStatus.Running) is { } local)
        {
            return local.Info;
        }

        return await store.FindActiveAnswerAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } active ? ToInfo(active) : null;
    }

    /// <summary>
    /// Deletes a conversation (restorable for <see cref="ConversationDeletion.RestoreWindow"/>); an answer running in it,
    /// on any node, is stopped first. <see cref="HistoryChange.AnswerRunning"/> only when that answer did not stop in time.
    /// </summary>
    public async Task<HistoryChange> DeleteConversationAsync(string userId, string conversationId, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var deleted = await store.DeleteAsync(userId, conversationId, cancellationToken).ConfigureAwait(false);
            if (deleted != HistoryChange.AnswerRunning)
            {
                return deleted;
            }

            if (await FindRunningInConversationAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } running)
            {
                await CancelAsync(running.TaskId, userId, cancellationToken).ConfigureAwait(false);
            }
        }

        return HistoryChange.AnswerRunning;
    }

    /// <summary>Every running answer of the cluster with its token count, oldest first.</summary>
    public async Task<IReadOnlyList<RunningTask>> ListRunningAsync(CancellationToken cancellationToken = default)
    {
        var active = await store.ListActiveAnswersAsync(cancellationToken).ConfigureAwait(false);
        var remote = coordinator.RemoteTokenCounts();
        return [.. active.Select(a => new RunningTask(ToInfo(a), registry.Find(a.TaskId)?.Tokens ?? remote.GetValueOrDefault(a.TaskId)))];
    }

    /// <summary>The text so far and the live text of a task, whichever node runs it.</summary>
    public IAsyncEnumerable<TaskStreamEvent> FollowAsync(TaskInfo task, CancellationToken cancellationToken = default) =>
        registry.Find(task.TaskId) is { } local
            ? local.FollowAsync(cancellationToken)
            : coordinator.FollowRemoteAsync(task, cancellationToken);

    /// <summary>
    /// Node shutdown: running answers get <paramref name="drain"/> to finish; the rest end as failed with
    /// their text kept, so nothing a user saw is lost.
    /// </summary>
    public async Task ShutdownAsync(TimeSpan drain, CancellationToken cancellationToken = default)
    {
        var running = registry.All;
        if (running.Count == 0)
        {
            return;
        }

        Log.Draining(logger, running.Count, drain.TotalSeconds);
        var all = Task.WhenAll(running.Select(t => t.Completion));
        if (await Task.WhenAny(all, Task.Delay(drain, cancellationToken)).ConfigureAwait(false) == all)
        {
            return;
        }

        _shuttingDown = true;
        foreach (var task in registry.All)
        {
            task.RequestCancel();
        }

        await Task.WhenAny(Task.WhenAll(running.Select(t => t.Completion)), Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
    }

    private async Task RunAsync(GenerationTask task, List<AiMessage> prompt, RedisCost startCost, double startMs)
    {
        using var activity = ChatPortalMetrics.ActivitySource.StartActivity("generation");
        activity?.SetTag("chatportal.task_id", task.Id);
        var status = GenerationStatus.Completed;
        string? reason = null;
        try
        {
            await foreach (var update in chatClient.GetStreamingResponseAsync(prompt, cancellationToken: task.Token).ConfigureAwait(false))
            {
                // A client may have buffered text already: nothing after Stop is appended.
                task.Token.ThrowIfCancellationRequested();
                if (!string.IsNullOrEmpty(update.Text))
                {
                    task.Append(update.Text);
                    if (_chunkObserver is not null)
                    {
                        await _chunkObserver.OnChunkAsync(task).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (task.Token.IsCancellationRequested)
        {
            (status, reason) = task.ClaimLost ? (GenerationStatus.Failed, TakenOverReason)
                : _shuttingDown ? (GenerationStatus.Failed, "The node shut down before the answer was complete.")
                : (GenerationStatus.Cancelled, null);
        }
        catch (Exception ex)
        {
            status = GenerationStatus.Failed;
            reason = Describe(ex);
            Log.ModelFailed(logger, ex, task.Id);
        }

        var ended = task.End(status, reason);
        var answer = new ChatMessage(task.Id, ChatRole.Assistant, StorableText(task.Text), ToMessageStatus(ended.Status), task.Info.StartedAt,
            ended.Reason, task.Tokens, node.Id, task.ParentId);

        // The commit is fenced by the claim: a generation that was taken over writes nothing.
        var commitStarted = Stopwatch.GetTimestamp();
        var outcome = AnswerCommitOutcome.Fenced;
        var notStored = false;
        if (!task.ClaimLost)
        {
            try
            {
                outcome = await committer.CommitAsync(new AnswerCommit(task.Info.ConversationId, task.Id, task.Fence, answer)).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Not an outage (those wait in the committer): the lease renewal releases the claim of a task
                // this node no longer runs, with a failed record.
                Log.StoreFailed(logger, ex, task.Id);
                ended = task.Supersede(GenerationStatus.Failed, "The answer could not be stored.");
                notStored = true;
            }
        }

        if (outcome == AnswerCommitOutcome.Fenced && !notStored)
        {
            Log.Fenced(logger, task.Id);
            ended = task.Supersede(GenerationStatus.Failed, TakenOverReason);
        }

        var commitMs = Stopwatch.GetElapsedTime(commitStarted).TotalMilliseconds;
        var cost = startCost + coordinator.AnnounceEnded(task.Info, ended, task.Tokens, task.CancelLatency?.TotalMilliseconds);
        registry.Remove(task);
        metrics.AnswerEnded(ended.Status, task.Tokens, startMs + commitMs, cost.Commands, cost.RoundTrips);
        Log.Ended(logger, task.Id, ended.Status, task.Tokens);
        task.Complete();
        events.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Ended, task.Info, ended.Status, task.Tokens, task.CancelLatency?.TotalMilliseconds));
        task.Dispose();
    }

    /// <summary>PostgreSQL text cannot hold NUL; nothing else is changed.</summary>
    private static string StorableText(string text) => text.Contains('\0', StringComparison.Ordinal) ? text.Replace("\0", "", StringComparison.Ordinal) : text;

    private async Task<TaskView?> FindEndedAsync(string taskId, string conversationId, string? userId, CancellationToken cancellationToken)
    {
        var stored = await store.FindAnswerAsync(conversationId, taskId, cancellationToken).ConfigureAwait(false);
        return stored is null || (userId is not null && stored.UserId != userId)
            ? null
            : new TaskView(taskId, conversationId, stored.UserId, stored.Message.Node, ToGenerationStatus(stored.Message.Status), stored.Message.Tokens);
    }

    private List<AiMessage> BuildPrompt(IEnumerable<ChatMessage> history, string? instructions)
    {
        var prompt = new List<AiMessage> { new(AiRole.System, instructions ?? options.Value.Model.SystemPrompt) };
        foreach (var message in history)
        {
            if (message.Role == ChatRole.User)
            {
                prompt.Add(new AiMessage(AiRole.User, message.Content));
            }
            else if (message.Content.Length > 0)
            {
                prompt.Add(new AiMessage(AiRole.Assistant, message.Content));
            }
        }

        return prompt;
    }

    internal static TaskInfo ToInfo(ActiveAnswer active) =>
        new(active.TaskId, active.ConversationId, active.UserId, active.Node, active.StartedAt);

    private static async Task<TaskEnded?> WaitAsync(Task<TaskEnded> completion, CancellationToken cancellationToken)
    {
        try
        {
            return await completion.WaitAsync(CancelConfirmWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>A reason a user can read, from whatever the model client threw.</summary>
    internal static string Describe(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException { StatusCode: { } code }:
                    return $"The model endpoint answered {(int)code} {code}.";
                case System.ClientModel.ClientResultException { Status: > 0 } result:
                    return $"The model endpoint answered {result.Status}{Detail(result.GetRawResponse()?.ReasonPhrase)}.";
                case System.Net.Sockets.SocketException socket:
                    return $"The model endpoint could not be reached ({socket.SocketErrorCode}).";
                case HttpIOException or IOException when ex is not HttpRequestException { InnerException: System.Net.Sockets.SocketException }:
                    return "The model endpoint closed the connection before the answer was complete.";
                case TimeoutException or TaskCanceledException:
                    return "The model endpoint did not answer in time.";
            }
        }

        return ex is HttpRequestException ? $"The model endpoint could not be reached: {ex.Message}" : $"The model failed: {ex.Message}";
    }

    private static string Detail(string? phrase) => string.IsNullOrWhiteSpace(phrase) ? "" : $" {phrase}";

    public static MessageStatus ToMessageStatus(GenerationStatus status) => status switch
    {
        GenerationStatus.Completed => MessageStatus.Completed,
        GenerationStatus.Cancelled => MessageStatus.Cancelled,
        GenerationStatus.Failed => MessageStatus.Failed,
        _ => MessageStatus.Streaming,
    };

    public static GenerationStatus ToGenerationStatus(MessageStatus status) => status switch
    {
        MessageStatus.Completed => GenerationStatus.Completed,
        MessageStatus.Cancelled => GenerationStatus.Cancelled,
        MessageStatus.Failed => GenerationStatus.Failed,
        _ => GenerationStatus.Running,
    };

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Debug, "Task {TaskId} started in conversation {ConversationId} on {Node}.")]
        public static partial void Started(ILogger logger, string taskId, string conversationId, string node);

        [LoggerMessage(1002, LogLevel.Debug, "Task {TaskId} ended {Status} after {Tokens} tokens.")]
        public static partial void Ended(ILogger logger, string taskId, GenerationStatus status, int tokens);

        [LoggerMessage(1003, LogLevel.Warning, "The model failed during task {TaskId}.")]
        public static partial void ModelFailed(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(1004, LogLevel.Error, "The answer of task {TaskId} could not be stored.")]
        public static partial void StoreFailed(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(1005, LogLevel.Warning, "Task {TaskId} was taken over (its claim was released while it ran): nothing written.")]
        public static partial void Fenced(ILogger logger, string taskId);

        [LoggerMessage(1006, LogLevel.Information, "Shutting down with {Count} answers running; waiting up to {Seconds} s for them.")]
        public static partial void Draining(ILogger logger, int count, double seconds);
    }
}
