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
/// Runs answers as tasks owned by this node. One task per conversation across the cluster, exactly one
/// final state per task, the answer stored with the text generated so far, and no coordination call per
/// chunk: the coordinator is called once when a task starts and once when it ends.
/// </summary>
public sealed partial class GenerationEngine(
    IConversationStore store,
    ITaskCoordinator coordinator,
    LocalTaskRegistry registry,
    TaskLifecycleEvents events,
    IChatClient chatClient,
    NodeIdentity node,
    ChatPortalMetrics metrics,
    IOptions<ChatPortalOptions> options,
    TimeProvider time,
    ILogger<GenerationEngine> logger)
{
    /// <summary>How long a cancel waits for the owner to confirm the stop (CONTRACT: 2 s, then 202).</summary>
    public static readonly TimeSpan CancelConfirmWait = TimeSpan.FromSeconds(2);

    private readonly IChunkObserver? _chunkObserver = coordinator as IChunkObserver;
    private volatile bool _shuttingDown;

    public string NodeId => node.Id;

    public LocalTaskRegistry LocalTasks => registry;

    /// <summary>Starts an answer to <paramref name="text"/>, or regenerates the last answer when it is null.</summary>
    public async Task<StartResult> StartAsync(string userId, string conversationId, string? text, CancellationToken cancellationToken = default)
    {
        var conversation = await store.GetAsync(userId, conversationId, cancellationToken).ConfigureAwait(false);
        if (conversation is null)
        {
            return new StartResult(StartOutcome.ConversationNotFound);
        }

        var history = conversation.Messages.ToList();
        ChatMessage? userMessage = null;
        string? replacedAnswer = null;
        var now = time.GetUtcNow();
        if (text is null)
        {
            var lastUser = history.FindLastIndex(m => m.Role == ChatRole.User);
            if (lastUser < 0)
            {
                return new StartResult(StartOutcome.NothingToRegenerate);
            }

            replacedAnswer = history.Skip(lastUser + 1).LastOrDefault(m => m.Role == ChatRole.Assistant)?.Id;
            history = history[..(lastUser + 1)];
        }
        else
        {
            userMessage = ChatMessage.FromUser(text, now);
            history.Add(userMessage);
        }

        var task = new GenerationTask(new TaskInfo(Ids.NewTaskId(conversationId), conversationId, userId, node.Id, now));

        // Local first: a cancel that arrives the moment the claim is visible finds the task.
        registry.Add(task);
        var started = Stopwatch.GetTimestamp();
        ClaimResult claim;
        try
        {
            claim = await coordinator.RegisterAsync(task.Info, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            registry.Remove(task);
            task.Dispose();
            throw;
        }

        if (!claim.Claimed)
        {
            registry.Remove(task);
            task.Dispose();
            return new StartResult(StartOutcome.AlreadyRunning, RunningTask: claim.RunningTask);
        }

        var registerMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            if (replacedAnswer is not null)
            {
                await store.RemoveAsync(userId, conversationId, replacedAnswer, cancellationToken).ConfigureAwait(false);
            }

            if (userMessage is not null)
            {
                await store.AppendAsync(userId, conversationId, userMessage, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            // Nothing half-stored: without its question the answer does not start, and the claim goes.
            registry.Remove(task);
            task.End(GenerationStatus.Failed, "The message could not be stored.");
            await coordinator.CompleteAsync(task.Info, new TaskEnded(GenerationStatus.Failed, null), 0, CancellationToken.None).ConfigureAwait(false);
            task.Complete();
            task.Dispose();
            throw;
        }

        // Announced only now that its question is stored: no node shows an answer without its question.
        var cost = claim.Cost + coordinator.AnnounceStarted(task.Info);
        Log.Started(logger, task.Id, conversationId, node.Id);
        events.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Started, task.Info, GenerationStatus.Running, 0));

        var prompt = BuildPrompt(history);
        using (ExecutionContext.SuppressFlow())
        {
            // The task belongs to the node: it does not flow the request's context or token.
            _ = Task.Run(() => RunAsync(task, prompt, cost, registerMs), CancellationToken.None);
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

        if (await coordinator.FindRunningAsync(taskId, checkOwner: false, cancellationToken).ConfigureAwait(false) is { } remote)
        {
            if (userId is not null && remote.Info.UserId != userId)
            {
                return CancelResult.NotFound(taskId);
            }

            if (!remote.OwnerAlive)
            {
                return new CancelResult(CancelOutcome.Stopped, taskId, GenerationStatus.Failed, remote.Info.Node);
            }

            var ended = await coordinator.CancelRemoteAsync(remote.Info, CancelConfirmWait, cancellationToken).ConfigureAwait(false);
            var status = ended?.Status;
            if (status is null && await FindEndedAsync(taskId, conversationId, userId, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                status = stored.Status; // it ended while the cancel was on its way
            }

            metrics.CancelAnswered(status is not null, Stopwatch.GetElapsedTime(accepted));
            return status is null
                ? new CancelResult(CancelOutcome.Pending, taskId, GenerationStatus.Running, remote.Info.Node)
                : new CancelResult(CancelOutcome.Stopped, taskId, status.Value, remote.Info.Node);
        }

        // Not running anywhere: a finished task answers with its final state (idempotent cancel).
        var view = await FindEndedAsync(taskId, conversationId, userId, cancellationToken).ConfigureAwait(false);
        return view is null ? CancelResult.NotFound(taskId) : new CancelResult(CancelOutcome.Stopped, taskId, view.Status, view.Node);
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
            return userId is null || local.Info.UserId == userId
                ? new TaskView(taskId, conversationId, local.Info.UserId, node.Id, local.Status, local.Tokens)
                : null;
        }

        if (await coordinator.FindRunningAsync(taskId, cancellationToken: cancellationToken).ConfigureAwait(false) is { } remote)
        {
            return userId is null || remote.Info.UserId == userId
                ? new TaskView(taskId, conversationId, remote.Info.UserId, remote.Info.Node, remote.OwnerAlive ? GenerationStatus.Running : GenerationStatus.Failed, remote.Tokens)
                : null;
        }

        return await FindEndedAsync(taskId, conversationId, userId, cancellationToken).ConfigureAwait(false);
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

    private async Task RunAsync(GenerationTask task, List<AiMessage> prompt, RedisCost registerCost, double registerMs)
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
            (status, reason) = _shuttingDown
                ? (GenerationStatus.Failed, "The node shut down before the answer was complete.")
                : (GenerationStatus.Cancelled, null);
        }
        catch (Exception ex)
        {
            status = GenerationStatus.Failed;
            reason = Describe(ex);
            Log.ModelFailed(logger, ex, task.Id);
        }

        var ended = task.End(status, reason);
        var answer = new ChatMessage(task.Id, ChatRole.Assistant, task.Text, ToMessageStatus(ended.Status), task.Info.StartedAt, ended.Reason, task.Tokens, node.Id);

        // Store, then release and announce the end. Both are issued before either is awaited: on one Redis
        // connection the commands run in the order they were sent, so the answer is stored before anyone hears
        // of the end, and the two cost one round trip, not two.
        var stored = StoreAnswerAsync(task, answer);
        var completeCost = default(RedisCost);
        var started = Stopwatch.GetTimestamp();
        try
        {
            completeCost = await coordinator.CompleteAsync(task.Info, ended, task.Tokens, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ReleaseFailed(logger, ex, task.Id);
        }

        await stored.ConfigureAwait(false);

        var completeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        registry.Remove(task);
        var cost = registerCost + completeCost;
        metrics.AnswerEnded(ended.Status, task.Tokens, registerMs + completeMs, cost.Commands, cost.RoundTrips);
        Log.Ended(logger, task.Id, ended.Status, task.Tokens);
        task.Complete();
        events.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Ended, task.Info, ended.Status, task.Tokens, task.CancelLatency?.TotalMilliseconds));
        task.Dispose();
    }

    private async Task StoreAnswerAsync(GenerationTask task, ChatMessage answer)
    {
        try
        {
            await store.AppendAsync(task.Info.UserId, task.Info.ConversationId, answer, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.StoreFailed(logger, ex, task.Id);
        }
    }

    private async Task<TaskView?> FindEndedAsync(string taskId, string conversationId, string? userId, CancellationToken cancellationToken)
    {
        var conversation = await store.FindAsync(conversationId, cancellationToken).ConfigureAwait(false);
        if (conversation is null || (userId is not null && conversation.UserId != userId))
        {
            return null;
        }

        var answer = conversation.Messages.FirstOrDefault(m => m.Id == taskId && m.Role == ChatRole.Assistant);
        return answer is null
            ? null
            : new TaskView(taskId, conversationId, conversation.UserId, answer.Node, ToGenerationStatus(answer.Status), answer.Tokens);
    }

    private List<AiMessage> BuildPrompt(IEnumerable<ChatMessage> history)
    {
        var prompt = new List<AiMessage> { new(AiRole.System, options.Value.Model.SystemPrompt) };
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

        [LoggerMessage(1005, LogLevel.Error, "Task {TaskId} could not be released.")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(1006, LogLevel.Information, "Shutting down with {Count} answers running; waiting up to {Seconds} s for them.")]
        public static partial void Draining(ILogger logger, int count, double seconds);
    }
}
