using System.Collections.Concurrent;
using System.Text;

namespace ChatPortal.Chaos;

public enum StreamKind
{
    Send,
    Follow,
}

/// <summary>What one SSE stream showed a user.</summary>
public sealed class StreamRecord
{
    public required StreamKind Kind { get; init; }

    public required string ConversationId { get; init; }

    /// <summary>The question sent (send streams).</summary>
    public string? Question { get; init; }

    /// <summary>NodeId of the node the stream was read from.</summary>
    public required string Via { get; init; }

    public string? TaskId { get; set; }

    /// <summary>The owner node named by the task event.</summary>
    public string? Node { get; set; }

    public StringBuilder Text { get; } = new();

    public int Deltas { get; set; }

    public string? DoneStatus { get; set; }

    public string? Reason { get; set; }

    public bool Broken { get; set; }

    public string? BrokenReason { get; set; }

    public DateTime Start { get; init; } = DateTime.UtcNow;

    public DateTime? End { get; set; }
}

/// <summary>The answer to a Stop.</summary>
public sealed record CancelRecord(string TaskId, string Via, int StatusCode, string? BodyStatus, string? Error, DateTime At, int Attempts);

/// <summary>A reload after a stream ended with done: what the conversation showed for that task.</summary>
public sealed record ReloadRecord(string ConversationId, string TaskId, string Via, DateTime StreamStart, DateTime At, bool Found, string? Status, string? Content);

/// <summary>Everything the users saw, shared by all of them.</summary>
public sealed class Transcripts
{
    public ConcurrentQueue<StreamRecord> Streams { get; } = new();

    public ConcurrentQueue<CancelRecord> Cancels { get; } = new();

    public ConcurrentQueue<ReloadRecord> Reloads { get; } = new();

    /// <summary>Refusals and errors as users met them: "send 503", "follow 404", "send connection" …</summary>
    public ConcurrentDictionary<string, int> Refusals { get; } = new();

    public int TasksStarted;

    public int Conversations;

    public int ConcurrentProbes;

    public int ConcurrentProbesBothStarted;

    public int ReloadsDone;

    public void Count(string what) => Refusals.AddOrUpdate(what, 1, (_, n) => n + 1);
}
