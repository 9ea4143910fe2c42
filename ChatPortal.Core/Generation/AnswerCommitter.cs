using ChatPortal.Core.Conversations;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Core.Generation;

/// <summary>
/// Stores answers as they end. While the database is unreachable, commits wait here in memory, in the order
/// they ended, and land when it is back: nothing a user was shown is lost to an outage. (A process that dies
/// meanwhile loses its queue; the janitor then records those answers as failed.)
/// </summary>
public sealed partial class AnswerCommitter(IConversationStore store, Storage.DatabaseHealth health, ILogger<AnswerCommitter> logger) : IDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Queue<Pending> _queue = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _drain;

    /// <summary>Answers waiting for the database.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public async Task<AnswerCommitOutcome> CommitAsync(AnswerCommit commit)
    {
        Pending? queued = null;
        lock (_gate)
        {
            if (_queue.Count > 0)
            {
                queued = Enqueue(commit);
            }
        }

        if (queued is not null)
        {
            return await queued.Outcome.Task.ConfigureAwait(false);
        }

        try
        {
            return await store.CommitAnswerAsync(commit).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            Log.Deferred(logger, ex, commit.TaskId);
            lock (_gate)
            {
                queued = Enqueue(commit);
            }

            return await queued.Outcome.Task.ConfigureAwait(false);
        }
    }

    private Pending Enqueue(AnswerCommit commit)
    {
        var pending = new Pending(commit);
        _queue.Enqueue(pending);
        health.SetAnswersWaiting(_queue.Count);
        _drain ??= Task.Run(DrainAsync);
        return pending;
    }

    private async Task DrainAsync()
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!_stopping.IsCancellationRequested)
        {
            Pending head;
            lock (_gate)
            {
                if (!_queue.TryPeek(out head!))
                {
                    _drain = null;
                    return;
                }
            }

            try
            {
                var outcome = await store.CommitAnswerAsync(head.Commit).ConfigureAwait(false);
                lock (_gate)
                {
                    _queue.Dequeue();
                    health.SetAnswersWaiting(_queue.Count);
                }

                Log.Landed(logger, head.Commit.TaskId, outcome);
                head.Outcome.TrySetResult(outcome);
                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (StoreUnavailableException)
            {
                try
                {
                    await Task.Delay(backoff, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
            catch (Exception ex)
            {
                // Not an outage: this commit will never land as it is. The caller records the failure.
                lock (_gate)
                {
                    _queue.Dequeue();
                    health.SetAnswersWaiting(_queue.Count);
                }

                head.Outcome.TrySetException(ex);
            }
        }

        lock (_gate)
        {
            foreach (var pending in _queue)
            {
                Log.Abandoned(logger, pending.Commit.TaskId);
                pending.Outcome.TrySetCanceled();
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Pending(AnswerCommit commit)
    {
        public AnswerCommit Commit { get; } = commit;

        public TaskCompletionSource<AnswerCommitOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(1101, LogLevel.Warning, "The database is unreachable: the answer of task {TaskId} waits in memory and is stored when it is back.")]
        public static partial void Deferred(ILogger logger, Exception exception, string taskId);

        [LoggerMessage(1102, LogLevel.Information, "The deferred answer of task {TaskId} is stored ({Outcome}).")]
        public static partial void Landed(ILogger logger, string taskId, AnswerCommitOutcome outcome);

        [LoggerMessage(1103, LogLevel.Error, "The node stopped before the database came back: the answer of task {TaskId} was not stored.")]
        public static partial void Abandoned(ILogger logger, string taskId);
    }
}
