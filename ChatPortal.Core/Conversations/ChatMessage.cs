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

/// <summary>One message of a conversation. Assistant messages carry the id of the generation task that wrote them.</summary>
public sealed record ChatMessage(
    string Id,
    ChatRole Role,
    string Content,
    MessageStatus Status,
    DateTimeOffset CreatedAt,
    string? Error = null,
    int Tokens = 0,
    string? Node = null,
    string? ParentId = null)
{
    public static ChatMessage FromUser(string text, DateTimeOffset now, string? parentId = null) =>
        new(Ids.NewMessageId(), ChatRole.User, text, MessageStatus.Completed, now, ParentId: parentId);
}
