using ChatPortal.Core.Conversations;
using Microsoft.Extensions.Caching.Memory;

namespace ChatPortal.Core.Storage;

/// <summary>
/// Recent conversations' histories on this node, each with the version it was read at. A reader first reads
/// the conversation's version (one small row) and only the messages newer than its cached copy, so the cost
/// of building a prompt stays flat as a conversation grows. Correctness never rests on it: commits are
/// conditional in the database.
/// </summary>
public sealed class ConversationCache : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 2_000 });

    public CachedHistory? Find(string conversationId) => _cache.Get<CachedHistory>(conversationId);

    public void Set(string conversationId, CachedHistory history) =>
        _cache.Set(conversationId, history, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(10) });

    /// <summary>Adds a message this node wrote at <paramref name="version"/>, if the cached copy is the version before it.</summary>
    public void Append(string conversationId, long epoch, long version, ChatMessage message)
    {
        if (Find(conversationId) is { } cached && cached.Epoch == epoch && cached.Version == version - 1)
        {
            Set(conversationId, new CachedHistory(epoch, version, [.. cached.Messages, message]));
        }
        else
        {
            _cache.Remove(conversationId);
        }
    }

    public void Remove(string conversationId) => _cache.Remove(conversationId);

    public void Dispose() => _cache.Dispose();
}

/// <summary>A conversation's messages as of <paramref name="Version"/> within history epoch <paramref name="Epoch"/>.</summary>
public sealed record CachedHistory(long Epoch, long Version, IReadOnlyList<ChatMessage> Messages);
