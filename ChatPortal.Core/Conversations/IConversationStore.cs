namespace ChatPortal.Core.Conversations;

/// <summary>
/// Conversations and their history. Every read and write names the user: a conversation of
/// another user is reported as not found.
/// </summary>
public interface IConversationStore
{
    Task<ConversationSummary> CreateAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>The conversation with its messages, whoever owns it (callers check <see cref="Conversation.UserId"/>).</summary>
    Task<Conversation?> FindAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>The conversation with its messages, or null when it does not exist or is not the user's.</summary>
    async Task<Conversation?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken = default) =>
        await FindAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } conversation && conversation.UserId == userId
            ? conversation
            : null;

    /// <summary>The user's conversations, most recently updated first.</summary>
    Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Appends a message; the first user message also names the conversation.</summary>
    Task AppendAsync(string userId, string conversationId, ChatMessage message, CancellationToken cancellationToken = default);

    /// <summary>Removes one message (regenerate replaces the last answer).</summary>
    Task RemoveAsync(string userId, string conversationId, string messageId, CancellationToken cancellationToken = default);

    /// <summary>Clears the history; the conversation itself stays.</summary>
    Task ClearAsync(string userId, string conversationId, CancellationToken cancellationToken = default);
}
