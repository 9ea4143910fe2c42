using System.Collections.Concurrent;

namespace ChatPortal.Core.Conversations;

/// <summary>The single-node store: conversations live in this process.</summary>
public sealed class InMemoryConversationStore(TimeProvider time) : IConversationStore
{
    private readonly ConcurrentDictionary<string, Entry> _conversations = new();

    public Task<ConversationSummary> CreateAsync(string userId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var entry = new Entry(Ids.NewConversationId(), userId, now) { UpdatedAt = now };
        _conversations[entry.Id] = entry;
        return Task.FromResult(new ConversationSummary(entry.Id, entry.Title, now));
    }

    public Task<Conversation?> FindAsync(string conversationId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_conversations.GetValueOrDefault(conversationId)?.Snapshot());

    public Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ConversationSummary> list = _conversations.Values
            .Where(c => c.UserId == userId)
            .Select(c => c.Snapshot().Summary)
            .OrderByDescending(c => c.UpdatedAt)
            .ToList();
        return Task.FromResult(list);
    }

    public Task AppendAsync(string userId, string conversationId, ChatMessage message, CancellationToken cancellationToken = default)
    {
        var entry = Find(userId, conversationId) ?? throw new ConversationNotFoundException(conversationId);
        lock (entry)
        {
            entry.Messages.Add(message);
            entry.UpdatedAt = time.GetUtcNow();
            if (message.Role == ChatRole.User && entry.Title == Conversation.DefaultTitle)
            {
                entry.Title = Conversation.TitleFrom(message.Content);
            }
        }

        return Task.CompletedTask;
    }

    public Task RemoveAsync(string userId, string conversationId, string messageId, CancellationToken cancellationToken = default)
    {
        var entry = Find(userId, conversationId) ?? throw new ConversationNotFoundException(conversationId);
        lock (entry)
        {
            entry.Messages.RemoveAll(m => m.Id == messageId);
        }

        return Task.CompletedTask;
    }

    public Task ClearAsync(string userId, string conversationId, CancellationToken cancellationToken = default)
    {
        var entry = Find(userId, conversationId) ?? throw new ConversationNotFoundException(conversationId);
        lock (entry)
        {
            entry.Messages.Clear();
            entry.Title = Conversation.DefaultTitle;
            entry.UpdatedAt = time.GetUtcNow();
        }

        return Task.CompletedTask;
    }

    private Entry? Find(string userId, string conversationId) =>
        _conversations.TryGetValue(conversationId, out var entry) && entry.UserId == userId ? entry : null;

    private sealed class Entry(string id, string userId, DateTimeOffset createdAt)
    {
        public string Id { get; } = id;
        public string UserId { get; } = userId;
        public string Title { get; set; } = Conversation.DefaultTitle;
        public DateTimeOffset UpdatedAt { get; set; }
        public List<ChatMessage> Messages { get; } = [];

        public Conversation Snapshot()
        {
            lock (this)
            {
                return new Conversation(Id, UserId, Title, createdAt, UpdatedAt, Messages.ToArray());
            }
        }
    }
}

public sealed class ConversationNotFoundException(string conversationId)
    : Exception($"Conversation '{conversationId}' does not exist.");
