namespace ChatPortal.Core.Conversations;

/// <summary>A conversation and its history, as one user sees it.</summary>
/// <param name="ModelId">The model chosen for it; null: the configured default.</param>
/// <param name="Instructions">Its instructions (system prompt); null: the configured default.</param>
public sealed record Conversation(
    string Id,
    string UserId,
    string Title,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<ChatMessage> Messages,
    string? ModelId = null,
    string? Instructions = null)
{
    private ConversationTree? _tree;

    public const string DefaultTitle = "New chat";

    /// <summary>
    /// Every message of every branch. <see cref="Messages"/> is the branch on screen: the path to the conversation's leaf.
    /// </summary>
    public ConversationTree Tree
    {
        get => _tree ??= new ConversationTree(Messages);
        init => _tree = value;
    }

    public ConversationSummary Summary => new(Id, Title, UpdatedAt);

    /// <summary>The title a conversation takes from its first user message.</summary>
    public static string TitleFrom(string text)
    {
        var line = text.Trim().ReplaceLineEndings(" ");
        return line.Length <= 60 ? line : string.Concat(line.AsSpan(0, 57).TrimEnd(), "…");
    }
}

public sealed record ConversationSummary(string Id, string Title, DateTimeOffset UpdatedAt);
