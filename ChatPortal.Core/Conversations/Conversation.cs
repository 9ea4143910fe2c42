namespace ChatPortal.Core.Conversations;

/// <summary>A conversation and its history, as one user sees it.</summary>
public sealed record Conversation(
    string Id,
    string UserId,
    string Title,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<ChatMessage> Messages)
{
    public const string DefaultTitle = "New chat";

    public ConversationSummary Summary => new(Id, Title, UpdatedAt);

    /// <summary>The title a conversation takes from its first user message.</summary>
    public static string TitleFrom(string text)
    {
        var line = text.Trim().ReplaceLineEndings(" ");
        return line.Length <= 60 ? line : string.Concat(line.AsSpan(0, 57).TrimEnd(), "…");
    }
}

public sealed record ConversationSummary(string Id, string Title, DateTimeOffset UpdatedAt);
