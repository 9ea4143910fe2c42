namespace ChatPortal.Core.Conversations;

public enum ChatRole
{
    User,
    Assistant,
}

/// <summary>Where a message is in its life. A user message is always <see cref="Completed"/>.</summary>
public enum MessageStatus
{
    Completed,
    Streaming,
    Cancelled,
    Failed,
}

/// <summary>
/// What an answer took: tokens in and out (as the provider reported them, or estimated when it did not), time to the
/// first token and the pace after it.
/// </summary>
public sealed record AnswerUsage(int InputTokens, int OutputTokens, bool Estimated, int? FirstTokenMs = null, double? TokensPerSecond = null)
{
    public long TotalTokens => (long)InputTokens + OutputTokens;
}

/// <summary>
/// One message of a conversation. Assistant messages carry the id of the generation task that wrote them, the model
/// that wrote them and what it took (<see cref="Usage"/>).
/// </summary>
public sealed record ChatMessage(
    string Id,
    ChatRole Role,
    string Content,
    MessageStatus Status,
    DateTimeOffset CreatedAt,
    string? Error = null,
    int Tokens = 0,
    string? Node = null,
    string? ParentId = null,
    string? ModelId = null,
    AnswerUsage? Usage = null)
{
    public static ChatMessage FromUser(string text, DateTimeOffset now, string? parentId = null) =>
        new(Ids.NewMessageId(), ChatRole.User, text, MessageStatus.Completed, now, ParentId: parentId);
}
