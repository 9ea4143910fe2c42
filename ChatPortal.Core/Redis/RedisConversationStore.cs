using System.Collections.Concurrent;
using System.Globalization;
using ChatPortal.Core.Conversations;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Conversations in Redis: a hash (owner, creation time), a list of JSON messages and, per user, a sorted set
/// of conversations by last update. An append is one round trip (RPUSH + ZADD).
/// While Redis is unreachable, writes go to an in-memory outbox that is replayed, in order, when it is
/// back, and reads fall back to what this node last saw: no text a user was shown is lost.
/// </summary>
public sealed partial class RedisConversationStore : IConversationStore
{
    private const int CacheLimit = 5000;
    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisConversationStore> _logger;
    private readonly ConcurrentDictionary<string, Conversation> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<PendingWrite> _outbox = new();
    private readonly SemaphoreSlim _replay = new(1, 1);

    public RedisConversationStore(RedisConnection redis, TimeProvider time, ILogger<RedisConversationStore> logger)
    {
        _redis = redis;
        _time = time;
        _logger = logger;
        redis.Restored += () => _ = ReplayAsync();
    }

    private RedisKeys Keys => _redis.Keys;

    /// <summary>Writes waiting for Redis to come back.</summary>
    public int PendingWrites => _outbox.Count;

    public async Task<ConversationSummary> CreateAsync(string userId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var conversation = new Conversation(Ids.NewConversationId(), userId, Conversations.Conversation.DefaultTitle, now, now, []);
        Remember(conversation);
        await WriteAsync(new PendingWrite(conversation.Id, userId, now, null)).ConfigureAwait(false);
        return conversation.Summary;
    }

    public async Task<Conversation?> FindAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsConversationId(conversationId))
        {
            return null;
        }

        if (_redis.IsAvailable && _outbox.IsEmpty)
        {
            try
            {
                var batch = _redis.Database.CreateBatch();
                var hash = batch.HashGetAllAsync(Keys.Conversation(conversationId));
                var list = batch.ListRangeAsync(Keys.Messages(conversationId));
                batch.Execute();
                var fields = (await hash.ConfigureAwait(false)).ToDictionary(e => (string)e.Name!, e => (string?)e.Value);
                if (!fields.TryGetValue("userId", out var userId) || userId is null)
                {
                    return null;
                }

                var createdAt = ParseTime(fields.GetValueOrDefault("createdAt"));
                var messages = (await list.ConfigureAwait(false))
                    .Select(v => RedisJson.Deserialize<ChatMessage>(v))
                    .OfType<ChatMessage>()
                    .ToArray();
                var conversation = Build(conversationId, userId, createdAt, messages);
                Remember(conversation);
                return conversation;
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                Log.ReadFallback(_logger, ex, conversationId);
            }
        }

        return _cache.TryGetValue(conversationId, out var cached)
            ? cached
            : throw new Coordination.SharedStateUnavailableException("The conversation");
    }

    public async Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        if (_redis.IsAvailable && _outbox.IsEmpty)
        {
            try
            {
                var entries = await _redis.Database.SortedSetRangeByRankWithScoresAsync(Keys.UserConversations(userId), 0, 199, Order.Descending).ConfigureAwait(false);
                var batch = _redis.Database.CreateBatch();
                var firsts = entries.Select(e => batch.ListGetByIndexAsync(Keys.Messages((string)e.Element!), 0)).ToArray();
                batch.Execute();
                var list = new List<ConversationSummary>(entries.Length);
                for (var i = 0; i < entries.Length; i++)
                {
                    var first = RedisJson.Deserialize<ChatMessage>(await firsts[i].ConfigureAwait(false));
                    list.Add(new ConversationSummary(
                        (string)entries[i].Element!,
                        first is { Role: ChatRole.User } ? Conversations.Conversation.TitleFrom(first.Content) : Conversations.Conversation.DefaultTitle,
                        DateTimeOffset.FromUnixTimeMilliseconds((long)entries[i].Score)));
                }

                return list;
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                Log.ReadFallback(_logger, ex, userId);
            }
        }

        return _cache.Values.Where(c => c.UserId == userId).Select(c => c.Summary).OrderByDescending(c => c.UpdatedAt).ToList();
    }

    public async Task AppendAsync(string userId, string conversationId, ChatMessage message, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(conversationId, out var cached))
        {
            Remember(Build(conversationId, userId, cached.CreatedAt, [.. cached.Messages.Where(m => m.Id != message.Id), message]));
        }

        await WriteAsync(new PendingWrite(conversationId, userId, now, message)).ConfigureAwait(false);
    }

    public async Task RemoveAsync(string userId, string conversationId, string messageId, CancellationToken cancellationToken = default)
    {
        var values = await _redis.Database.ListRangeAsync(Keys.Messages(conversationId)).ConfigureAwait(false);
        var batch = _redis.Database.CreateBatch();
        var removals = values
            .Where(v => RedisJson.Deserialize<ChatMessage>(v)?.Id == messageId)
            .Select(v => batch.ListRemoveAsync(Keys.Messages(conversationId), v))
            .ToArray();
        batch.Execute();
        await Task.WhenAll(removals).ConfigureAwait(false);
        if (_cache.TryGetValue(conversationId, out var cached))
        {
            Remember(cached with { Messages = [.. cached.Messages.Where(m => m.Id != messageId)] });
        }
    }

    public async Task ClearAsync(string userId, string conversationId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var batch = _redis.Database.CreateBatch();
        var delete = batch.KeyDeleteAsync(Keys.Messages(conversationId));
        var touch = batch.SortedSetAddAsync(Keys.UserConversations(userId), conversationId, now.ToUnixTimeMilliseconds());
        batch.Execute();
        await Task.WhenAll(delete, touch).ConfigureAwait(false);
        if (_cache.TryGetValue(conversationId, out var cached))
        {
            Remember(Build(conversationId, userId, cached.CreatedAt, []));
        }
    }

    /// <summary>One write: one round trip when Redis is there, the outbox when it is not.</summary>
    private async Task WriteAsync(PendingWrite write)
    {
        if (_redis.IsAvailable && _outbox.IsEmpty)
        {
            try
            {
                await ApplyAsync(write, replay: false).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (RedisJson.IsUnavailable(ex))
            {
                Log.Deferred(_logger, ex, write.ConversationId);
            }
        }

        _outbox.Enqueue(write);
        if (_redis.IsAvailable)
        {
            _ = ReplayAsync();
        }
    }

    private async Task ApplyAsync(PendingWrite write, bool replay)
    {
        var batch = _redis.Database.CreateBatch();
        var tasks = new List<Task>(4);
        var score = write.At.ToUnixTimeMilliseconds();
        if (write.Message is null || replay)
        {
            // Creation, or a replay that must not depend on what Redis kept through its outage.
            var hash = Keys.Conversation(write.ConversationId);
            tasks.Add(batch.HashSetAsync(hash, "userId", write.UserId, When.NotExists));
            tasks.Add(batch.HashSetAsync(hash, "createdAt", score.ToString(CultureInfo.InvariantCulture), When.NotExists));
        }

        if (write.Message is not null)
        {
            tasks.Add(batch.ListRightPushAsync(Keys.Messages(write.ConversationId), RedisJson.Serialize(write.Message)));
        }

        tasks.Add(batch.SortedSetAddAsync(Keys.UserConversations(write.UserId), write.ConversationId, score));
        batch.Execute();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Writes the outbox to Redis in order once it is reachable again.</summary>
    public async Task ReplayAsync()
    {
        if (!await _replay.WaitAsync(0).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            var replayed = 0;
            while (_redis.IsAvailable && _outbox.TryPeek(out var write))
            {
                try
                {
                    await ApplyAsync(write, replay: true).ConfigureAwait(false);
                    _outbox.TryDequeue(out _);
                    replayed++;
                }
                catch (Exception ex) when (RedisJson.IsUnavailable(ex))
                {
                    Log.Deferred(_logger, ex, write.ConversationId);
                    await Task.Delay(500).ConfigureAwait(false);
                }
            }

            if (replayed > 0)
            {
                Log.Replayed(_logger, replayed);
            }
        }
        finally
        {
            _replay.Release();
        }
    }

    private static Conversation Build(string id, string userId, DateTimeOffset createdAt, IReadOnlyList<ChatMessage> messages)
    {
        var firstUser = messages.FirstOrDefault(m => m.Role == ChatRole.User);
        var title = firstUser is null ? Conversations.Conversation.DefaultTitle : Conversations.Conversation.TitleFrom(firstUser.Content);
        var updatedAt = messages.Count > 0 ? messages.Max(m => m.CreatedAt) : createdAt;
        return new Conversation(id, userId, title, createdAt, updatedAt, messages);
    }

    private void Remember(Conversation conversation)
    {
        if (_cache.Count >= CacheLimit && !_cache.ContainsKey(conversation.Id))
        {
            foreach (var old in _cache.Values.OrderBy(c => c.UpdatedAt).Take(CacheLimit / 5))
            {
                _cache.TryRemove(old.Id, out _);
            }
        }

        _cache[conversation.Id] = conversation;
    }

    private static DateTimeOffset ParseTime(string? unixMs) =>
        long.TryParse(unixMs, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UnixEpoch;

    private sealed record PendingWrite(string ConversationId, string UserId, DateTimeOffset At, ChatMessage? Message);

    private static partial class Log
    {
        [LoggerMessage(2101, LogLevel.Warning, "Redis unreachable: reading {Id} from this node's copy.")]
        public static partial void ReadFallback(ILogger logger, Exception exception, string id);

        [LoggerMessage(2102, LogLevel.Warning, "Redis unreachable: the write to conversation {ConversationId} waits in the outbox.")]
        public static partial void Deferred(ILogger logger, Exception exception, string conversationId);

        [LoggerMessage(2103, LogLevel.Information, "Replayed {Count} writes that waited for Redis.")]
        public static partial void Replayed(ILogger logger, int count);
    }
}
