using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace ChatPortal.Core.Tasks;

public enum GenerationStatus
{
    Running,
    Completed,
    Cancelled,
    Failed,
}

/// <summary>What every node may know of a task: who owns it, whose it is, since when.</summary>
public sealed record TaskInfo(string TaskId, string ConversationId, string UserId, string Node, DateTimeOffset StartedAt);

/// <summary>One event of a task's stream: text, then exactly one end.</summary>
public abstract record TaskStreamEvent;

public sealed record TaskDelta(string Text) : TaskStreamEvent;

public sealed record TaskEnded(GenerationStatus Status, string? Reason) : TaskStreamEvent;

/// <summary>
/// One answer being generated on this node. It belongs to the node, not to the page or request that
/// started it: closing a tab does not stop it. It ends in exactly one final state.
/// </summary>
public sealed class GenerationTask : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly StringBuilder _text = new();
    private readonly List<Channel<TaskStreamEvent>> _followers = [];
    private readonly TaskCompletionSource<TaskEnded> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private long _cancelRequestedAt;
    private bool _completed;

    public GenerationTask(TaskInfo info) => Info = info;

    public TaskInfo Info { get; }

    public string Id => Info.TaskId;

    public CancellationToken Token => _cts.Token;

    public GenerationStatus Status { get; private set; } = GenerationStatus.Running;

    public string? FailureReason { get; private set; }

    public int Tokens { get; private set; }

    public bool CancelRequested => _cts.IsCancellationRequested;

    /// <summary>The fencing number of this task's claim; 0 until the claim is stored.</summary>
    public long Fence { get; private set; }

    /// <summary>When (<see cref="Environment.TickCount64"/>) the claim was known stored: a lease renewal that read the
    /// claims before then cannot judge this task.</summary>
    public long ClaimedAt { get; private set; }

    /// <summary>True once this node learnt that the claim is no longer this task's (its owner was judged dead).</summary>
    public bool ClaimLost { get; private set; }

    /// <summary>The message this answer answers (its parent in the conversation's tree).</summary>
    public string? ParentId { get; private set; }

    /// <summary>Completes with the final state once the answer is stored and the task is released.</summary>
    public Task<TaskEnded> Completion => _ended.Task;

    /// <summary>Time from the cancel request to the end of the task, once both happened.</summary>
    public TimeSpan? CancelLatency { get; private set; }

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

    /// <summary>
    /// Trips the task's token (linked into the model call). Works from the moment the task exists, before
    /// the first token too. Returns false when the task had already ended.
    /// </summary>
    public bool RequestCancel()
    {
        lock (_gate)
        {
            if (Status != GenerationStatus.Running)
            {
                return false;
            }

            if (_cancelRequestedAt == 0)
            {
                _cancelRequestedAt = Stopwatch.GetTimestamp();
            }
        }

        _cts.Cancel();
        return true;
    }

    /// <summary>The id of the model writing this answer (the conversation's, or the default); set when the claim is stored.</summary>
    public string? ModelId { get; private set; }

    internal void Claimed(long fence, string? parentId, string? modelId = null)
    {
        Fence = fence;
        ParentId = parentId;
        ModelId = modelId;
        ClaimedAt = Environment.TickCount64;
    }

    /// <summary>
    /// The claim is gone (a janitor released it): stop generating at once. The commit would be refused
    /// anyway; this only stops paying for tokens nobody can keep.
    /// </summary>
    internal void LoseClaim()
    {
        lock (_gate)
        {
            if (Status != GenerationStatus.Running)
            {
                return;
            }

            ClaimLost = true;
        }

        _cts.Cancel();
    }

    /// <summary>The text so far, then every later event, then the end. Safe to call at any time.</summary>
    public async IAsyncEnumerable<TaskStreamEvent> FollowAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<TaskStreamEvent>(new UnboundedChannelOptions { SingleReader = true });
        string snapshot;
        TaskEnded? ended = null;
        lock (_gate)
        {
            snapshot = _text.ToString();

            // Between End and Complete the state is final but the answer is not stored yet: wait for Complete.
            if (!_completed)
            {
                _followers.Add(channel);
            }
            else
            {
                ended = new TaskEnded(Status, FailureReason);
            }
        }

        try
        {
            if (snapshot.Length > 0)
            {
                yield return new TaskDelta(snapshot);
            }

            if (ended is not null)
            {
                yield return ended;
                yield break;
            }

            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
                if (item is TaskEnded)
                {
                    yield break;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _followers.Remove(channel);
            }
        }
    }

    /// <summary>The text from <paramref name="offset"/> on (what a follower on another node has not seen yet).</summary>
    public string TextFrom(int offset)
    {
        lock (_gate)
        {
            return offset >= _text.Length ? "" : _text.ToString(offset, _text.Length - offset);
        }
    }

    /// <summary>Number of local followers (pages, SSE responses, remote followers bridged in).</summary>
    public int FollowerCount
    {
        get
        {
            lock (_gate)
            {
                return _followers.Count;
            }
        }
    }

    internal void Append(string delta)
    {
        lock (_gate)
        {
            _text.Append(delta);
            Tokens++;
            foreach (var follower in _followers)
            {
                follower.Writer.TryWrite(new TaskDelta(delta));
            }
        }
    }

    /// <summary>Sets the final state once. Followers see the end only after <see cref="Complete"/>.</summary>
    internal TaskEnded End(GenerationStatus status, string? reason)
    {
        lock (_gate)
        {
            if (Status == GenerationStatus.Running)
            {
                Status = status;
                FailureReason = reason;
                if (_cancelRequestedAt != 0)
                {
                    CancelLatency = Stopwatch.GetElapsedTime(_cancelRequestedAt);
                }
            }

            return new TaskEnded(Status, FailureReason);
        }
    }

    /// <summary>The commit was refused (fenced): the final state becomes failed, whatever it was going to be.</summary>
    internal TaskEnded Supersede(GenerationStatus status, string reason)
    {
        lock (_gate)
        {
            Status = status;
            FailureReason = reason;
            return new TaskEnded(Status, FailureReason);
        }
    }

    /// <summary>Tells followers and waiters that the task is over (the answer is stored by now).</summary>
    internal void Complete()
    {
        TaskEnded ended;
        Channel<TaskStreamEvent>[] followers;
        lock (_gate)
        {
            _completed = true;
            ended = new TaskEnded(Status, FailureReason);
            followers = [.. _followers];
        }

        foreach (var follower in followers)
        {
            follower.Writer.TryWrite(ended);
            follower.Writer.TryComplete();
        }

        _ended.TrySetResult(ended);
    }

    public void Dispose() => _cts.Dispose();
}
