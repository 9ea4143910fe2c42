using System.Diagnostics;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Tasks;
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
    ModelCatalog models,
    TitleWriter titles,
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

    public ModelCatalog Models => models;

    /// <summary>Starts an answer to <paramref name="text"/> on the branch on screen, or regenerates its last answer when it is null, with the conversation's model.</summary>
    public Task<StartResult> StartAsync(string userId, string conversationId, string? text, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text, modelId: null, branchFrom: null, cancellationToken);

    /// <summary>
    /// Starts an answer to <paramref name="text"/> (null: regenerates the last answer). <paramref name="modelId"/>, when
    /// given, becomes the conversation's model in the same transaction; null keeps the conversation's model.
    /// </summary>
    public Task<StartResult> StartAsync(string userId, string conversationId, string? text, string? modelId, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text, modelId, branchFrom: null, cancellationToken);

    /// <summary>A new version of question <paramref name="questionId"/> (a branch beside it), and its answer (by <paramref name="modelId"/>, as a send).</summary>
    public Task<StartResult> EditAsync(string userId, string conversationId, string questionId, string text, string? modelId = null, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text, modelId, questionId, cancellationToken);

    /// <summary>Writes answer <paramref name="answerId"/> again: a new answer beside it, to the same question; the old one stays.</summary>
    public Task<StartResult> RegenerateAsync(string userId, string conversationId, string answerId, string? modelId = null, CancellationToken cancellationToken = default) =>
        BeginAsync(userId, conversationId, text: null, modelId, answerId, cancellationToken);

    private async Task<StartResult> BeginAsync(string userId, string conversationId, string? text, string? modelId, string? branchFrom, CancellationToken cancellationToken)
    {
        if (modelId is not null && models.Find(modelId) is null)
        {
            return new StartResult(StartOutcome.UnknownModel);
        }

        var now = time.GetUtcNow();
        var limits = options.Value.Limits;
        var task = new GenerationTask(new TaskInfo(Ids.NewTaskId(conversationId), conversationId, userId, node.Id, now));

        // Local first: a Stop that arrives the moment the claim is visible finds the task.
        registry.Add(task);
        var started = Stopwatch.GetTimestamp();
        AnswerStartResult claim;
        try
        {
            claim = await store.StartAnswerAsync(
                new AnswerStart(task.Id, conversationId, userId, node.Id, instance.Id, now, text, limits.ConcurrentAnswersPerUser, modelId, limits.TokensPerUserPerDay)
                {
                    BranchFrom = branchFrom,
                },
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
                AnswerStartOutcome.AnswerRunning => new StartResult(StartOutcome.AlreadyRunning, RunningTask: claim.Running is { } running ? TaskStates.ToInfo(running) : null),
                AnswerStartOutcome.NothingToRegenerate => new StartResult(StartOutcome.NothingToRegenerate),
                AnswerStartOutcome.TooManyAnswers => new StartResult(StartOutcome.TooManyAnswers),
                AnswerStartOutcome.MessageNotFound => new StartResult(StartOutcome.MessageNotFound),
                AnswerStartOutcome.QuotaExceeded => new StartResult(StartOutcome.QuotaExceeded,
                    Quota: new Limits.DailyTokenQuota(claim.TokensUsedToday, limits.TokensPerUserPerDay, Limits.DailyTokenQuota.NextReset(now))),
                _ => new StartResult(StartOutcome.ConversationNotFound),
            };
        }

        task.Claimed(claim.Fence, claim.ParentId, models.Resolve(claim.ModelId).Id);
        var startMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        // Announced only now that its question is stored: no node shows an answer without its question.
        var cost = coordinator.AnnounceStarted(task.Info);
        Log.Started(logger, task.Id, conversationId, node.Id);
        events.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Started, task.Info, GenerationStatus.Running, 0));

        var prompt = BuildPrompt(claim.History!, claim.Instructions);

        // The first question of a conversation: once answered, the model names the conversation.
        var firstQuestion = text is not null && claim.History!.Count(m => m.Role == ChatRole.User) == 1 ? text : null;
        using (ExecutionContext.SuppressFlow())
        {
            // The task belongs to the node: it does not flow the request's context or token.
            _ = Task.Run(() => RunAsync(task, prompt, cost, startMs, firstQuestion), CancellationToken.None);
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
        // Same node: neither Redis nor the database stands between the click and the token. A task started under
        // another user id goes the database's way: its conversation may have moved to this user's account since
        // (a sign-in hands an anonymous user's conversations over), and the database knows whose conversation it is now.
        if (registry.Find(taskId) is { } local && (userId is null || local.Info.UserId == userId))
        {

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

        // A task of this node that was started under another user id: an anonymous user's, whose conversations a sign-in
        // handed to this account while the answer ran (the push above named the account, so it did not trip it). The
        // database has just confirmed that the conversation is this user's and runs this task: stop it now rather than
        // at the next lease renewal. (On another node it still stops at its owner's next renewal.)
        if (registry.Find(taskId) is { } handedOver)
        {
            handedOver.RequestCancel();
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
                    return TaskStates.ToGenerationStatus(stored.Message.Status);
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

        if (registry.Find(taskId) is { } local && (userId is null || local.Info.UserId == userId))
        {
            // Final only once stored: until then a reader of the conversation would still see it running.
            var status = local.Completion.IsCompletedSuccessfully ? local.Completion.Result.Status : GenerationStatus.Running;
            return new TaskView(taskId, conversationId, local.Info.UserId, node.Id, status, local.Tokens);
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

        return await store.FindActiveAnswerAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } active ? TaskStates.ToInfo(active) : null;
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
        return [.. active.Select(a => new RunningTask(TaskStates.ToInfo(a), registry.Find(a.TaskId)?.Tokens ?? remote.GetValueOrDefault(a.TaskId)))];
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

    private async Task RunAsync(GenerationTask task, List<AiMessage> prompt, RedisCost startCost, double startMs, string? firstQuestion)
    {
        using var activity = ChatPortalMetrics.ActivitySource.StartActivity("generation");
        activity?.SetTag("chatportal.task_id", task.Id);
        var model = models.Resolve(task.ModelId);
        activity?.SetTag("chatportal.model", model.Id);
        var status = GenerationStatus.Completed;
        string? reason = null;
        IReadOnlyList<AiMessage> sent = prompt;
        UsageDetails? reported = null;
        var requested = Stopwatch.GetTimestamp();
        long firstText = 0;
        try
        {
            // Fitted to the model's context window: the instructions and the newest turns that fit.
            sent = new ContextBudgetReducer(model.PromptBudget).Reduce(prompt);
            if (sent.Count < prompt.Count)
            {
                Log.Trimmed(logger, task.Id, prompt.Count - sent.Count, prompt.Count, model.Id, model.PromptBudget);
            }

            var chatOptions = new ChatOptions { MaxOutputTokens = model.MaxOutputTokens };
            await foreach (var update in models.ClientFor(model).GetStreamingResponseAsync(sent, chatOptions, task.Token).ConfigureAwait(false))
            {
                // A client may have buffered text already: nothing after Stop is appended.
                task.Token.ThrowIfCancellationRequested();
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent usage)
                    {
                        (reported ??= new UsageDetails()).Add(usage.Details);
                    }
                }

                if (!string.IsNullOrEmpty(update.Text))
                {
                    if (firstText == 0)
                    {
                        firstText = Stopwatch.GetTimestamp();
                    }

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
            // The user reads a short reason and an error id; the log line with that id holds the detail.
            var errorId = Ids.NewErrorId();
            status = GenerationStatus.Failed;
            reason = $"{Describe(ex)} (error {errorId})";
            Log.ModelFailed(logger, ex, task.Id, errorId);
        }

        var ended = task.End(status, reason);
        var text = StorableText(task.Text);
        var answer = new ChatMessage(task.Id, ChatRole.Assistant, text, TaskStates.ToMessageStatus(ended.Status), task.Info.StartedAt,
            ended.Reason, task.Tokens, node.Id, task.ParentId, model.Id, Usage(sent, text, task.Tokens, reported, requested, firstText, ended.Status));

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

        if (firstQuestion is not null && outcome == AnswerCommitOutcome.Committed && ended.Status == GenerationStatus.Completed && options.Value.Model.GenerateTitles)
        {
            titles.Start(model, task.Info.ConversationId, task.Info.UserId, firstQuestion, text);
        }
    }

    /// <summary>
    /// What the answer took: the provider's figures when it reported them (input and output), an estimate labelled as
    /// one for whatever it did not report (a Stop ends the stream before any report; some servers never send one). An
    /// answer that failed before any text and any report used nothing as far as anyone can tell.
    /// </summary>
    /// <param name="chunks">Text updates streamed: the pace of an answer without reported usage is counted in them (a
    /// provider streams about a token per update), not in the estimate, which errs high.</param>
    internal static AnswerUsage Usage(IReadOnlyList<AiMessage> sent, string text, int chunks, UsageDetails? reported, long requested, long firstText, GenerationStatus status)
    {
        var ended = Stopwatch.GetTimestamp();
        int? firstTokenMs = firstText == 0 ? null : (int)Stopwatch.GetElapsedTime(requested, firstText).TotalMilliseconds;
        if (reported is null && text.Length == 0 && status == GenerationStatus.Failed)
        {
            return new AnswerUsage(0, 0, Estimated: true, firstTokenMs);
        }

        var input = reported?.InputTokenCount is { } i ? (int)Math.Min(i, int.MaxValue) : (int?)null;
        var output = reported?.OutputTokenCount is { } o ? (int)Math.Min(o, int.MaxValue) : (int?)null;
        var estimated = input is null || output is null;
        var outputTokens = output ?? TokenEstimator.Estimate(text);

        // The pace after the first token; too short a stretch to measure says nothing.
        var writing = firstText == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(firstText, ended);
        var paced = output ?? chunks;
        double? perSecond = paced > 1 && writing >= TimeSpan.FromMilliseconds(50) ? Math.Round(paced / writing.TotalSeconds, 1) : null;
        return new AnswerUsage(input ?? TokenEstimator.Estimate(sent), outputTokens, estimated, firstTokenMs, perSecond);
    }

    /// <summary>PostgreSQL text cannot hold NUL; nothing else is changed.</summary>
    private static string StorableText(string text) => text.Contains('\0', StringComparison.Ordinal) ? text.Replace("\0", "", StringComparison.Ordinal) : text;

    private async Task<TaskView?> FindEndedAsync(string taskId, string conversationId, string? userId, CancellationToken cancellationToken)
    {
        var stored = await store.FindAnswerAsync(conversationId, taskId, cancellationToken).ConfigureAwait(false);
        return stored is null || (userId is not null && stored.UserId != userId)
            ? null
            : new TaskView(taskId, conversationId, stored.UserId, stored.Message.Node, TaskStates.ToGenerationStatus(stored.Message.Status), stored.Message.Tokens);
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

    /// <summary>
    /// A reason a user can read, from whatever the model client threw: what kind of failure it was, never the
    /// endpoint's address nor an exception's text (the log has those, under the error id shown with the reason).
    /// </summary>
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

        return ex is HttpRequestException ? "The model endpoint could not be reached." : "The model failed.";
    }

    private static string Detail(string? phrase) => string.IsNullOrWhiteSpace(phrase) ? "" : $" {phrase}";

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Debug, "Task {TaskId} started in conversation {ConversationId} on {Node}.")]
        public static partial void Started(ILogger logger, string taskId, string conversationId, string node);

        [LoggerMessage(1002, LogLevel.Debug, "Task {TaskId} ended {Status} after {Tokens} tokens.")]
        public static partial void Ended(ILogger logger, string taskId, GenerationStatus status, int tokens);

        [LoggerMessage(1003, LogLevel.Warning, "The model failed during task {TaskId} (error {ErrorId}).")]
        public static partial void ModelFailed(ILogger logger, Exception exception, string taskId, string errorId);

        [LoggerMessage(1004, LogLevel.Error, "The answer of task {TaskId} could not be stored.")]
        public static partial void StoreFailed(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(1005, LogLevel.Warning, "Task {TaskId} was taken over (its claim was released while it ran): nothing written.")]
        public static partial void Fenced(ILogger logger, string taskId);

        [LoggerMessage(1006, LogLevel.Information, "Shutting down with {Count} answers running; waiting up to {Seconds} s for them.")]
        public static partial void Draining(ILogger logger, int count, double seconds);

        [LoggerMessage(1007, LogLevel.Debug, "Task {TaskId}: {Dropped} of {Total} messages left out to fit model {Model}'s prompt budget of {Budget} tokens.")]
        public static partial void Trimmed(ILogger logger, string taskId, int dropped, int total, string model, int budget);
    }
}
