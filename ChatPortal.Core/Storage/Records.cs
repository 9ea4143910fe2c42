using ChatPortal.Core.Conversations;
using Microsoft.AspNetCore.Identity;

namespace ChatPortal.Core.Storage;

// The rows of the system of record. Times are UTC DateTime: both providers compare and order them in SQL
// (SQLite cannot order DateTimeOffset), and the lease columns are compared with the database's own clock.

/// <summary>
/// A user. Anonymous users (an identity cookie only) are rows without a user name; an account is the same row with
/// a user name, a password hash and a security stamp (ASP.NET Core Identity's columns), so an anonymous user who
/// signs up keeps their id and every conversation stays where it is.
/// </summary>
public sealed class UserRecord : IdentityUser
{

    public DateTime CreatedAt { get; set; }

    /// <summary>Last start of an answer (also the row lock that makes the per-user answer limit exact).</summary>
    public DateTime LastActiveAt { get; set; }

    public List<ConversationRecord> Conversations { get; set; } = [];
}

/// <summary>
/// A conversation. It also carries the claim of its running answer (who generates it, under which fencing
/// number): the claim is a conditional update of this row, so "at most one generation per conversation" is
/// decided by the database's transactions.
/// </summary>
public sealed class ConversationRecord
{
    public required string Id { get; set; }

    public required string UserId { get; set; }

    public required string Title { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    /// <summary>Sequence of the last message written; every message write increments it.</summary>
    public long Version { get; set; }

    /// <summary>Incremented when messages are removed (clear): caches of the history start over.</summary>
    public long HistoryEpoch { get; set; }

    /// <summary>
    /// The last message of the branch on screen (messages form a tree: edits and regenerations are siblings). Null: the
    /// newest message. Set by every start and end of an answer and by a switch of branch.
    /// </summary>
    public string? LeafId { get; set; }

    /// <summary>The model chosen for this conversation (null: the configured default).</summary>
    public string? ModelId { get; set; }

    /// <summary>Instructions (a system prompt) of this conversation (null: the configured default).</summary>
    public string? Instructions { get; set; }

    /// <summary>The running answer's task id; null when no answer runs.</summary>
    public string? ActiveTaskId { get; set; }

    /// <summary>The process instance that owns the running answer (its lease decides whether it lives).</summary>
    public string? ActiveInstanceId { get; set; }

    public string? ActiveNode { get; set; }

    public DateTime? ActiveSince { get; set; }

    /// <summary>Fencing number: incremented by every claim. A commit must name the claim it holds.</summary>
    public long Fence { get; set; }

    /// <summary>A Stop was accepted for the running answer: the owner picks it up at its next lease renewal.</summary>
    public bool CancelRequested { get; set; }

    /// <summary>
    /// When the user deleted it (the database's clock); null while it lives. A deleted conversation is gone for every
    /// reader at once, restorable for <see cref="ConversationDeletion.RestoreWindow"/>, then purged with its messages.
    /// </summary>
    public DateTime? DeletedAt { get; set; }

    public UserRecord? User { get; set; }

    public List<MessageRecord> Messages { get; set; } = [];
}

/// <summary>A message. An assistant message's id is the id of the task that wrote it (so a retried commit cannot duplicate it).</summary>
public sealed class MessageRecord
{
    public required string Id { get; set; }

    public required string ConversationId { get; set; }

    /// <summary>The message this one answers or follows (branches: siblings share a parent).</summary>
    public string? ParentId { get; set; }

    /// <summary>The conversation's <see cref="ConversationRecord.Version"/> when this message was written: its order.</summary>
    public long Seq { get; set; }

    public ChatRole Role { get; set; }

    public required string Content { get; set; }

    public MessageStatus Status { get; set; }

    public string? Error { get; set; }

    public int Tokens { get; set; }

    public string? Node { get; set; }

    public DateTime CreatedAt { get; set; }

    public string? ModelId { get; set; }

    public int? InputTokens { get; set; }

    public int? OutputTokens { get; set; }

    public bool UsageEstimated { get; set; }

    public int? FirstTokenMs { get; set; }

    public double? TokensPerSecond { get; set; }

    public ConversationRecord? Conversation { get; set; }
}

/// <summary>
/// The usage ledger: one row per ended answer (its task id), written in the same transaction as the answer. Not tied
/// to the conversation: clearing, regenerating or deleting history keeps what was used (admin figures, daily quota).
/// </summary>
public sealed class UsageRecord
{
    public required string Id { get; set; }

    public required string UserId { get; set; }

    public required string ConversationId { get; set; }

    public string? ModelId { get; set; }

    /// <summary>The UTC day the answer ended: what the daily quota and the admin figures group by.</summary>
    public DateOnly Day { get; set; }

    public DateTime CreatedAt { get; set; }

    public MessageStatus Status { get; set; }

    public int InputTokens { get; set; }

    public int OutputTokens { get; set; }

    public bool Estimated { get; set; }
}

/// <summary>A running process of a node. Every start is a new instance; its lease is renewed on the database's clock.</summary>
public sealed class InstanceRecord
{
    public required string Id { get; set; }

    public required string NodeId { get; set; }

    public DateTime StartedAt { get; set; }

    public DateTime RenewedAt { get; set; }
}

/// <summary>One Data Protection key (XML), shared by every node.</summary>
public sealed class DataProtectionKeyRecord
{
    public int Id { get; set; }

    public string? FriendlyName { get; set; }

    public string? Xml { get; set; }
}
