using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// <see cref="IConversationHandover"/> on the system of record: the conversations' owner and the usage rows (the daily
/// quota follows the person, so signing in does not reset it) change in one transaction. Caches hold history by
/// conversation, never its owner, so none needs dropping.
/// </summary>
public sealed class DatabaseConversationHandover(IDbContextFactory<ChatPortalDbContext> contexts, DatabaseHealth health, TimeProvider time) : IConversationHandover
{
    public async Task<int> HandOverAsync(string fromUserId, string toUserId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fromUserId);
        ArgumentException.ThrowIfNullOrEmpty(toUserId);
        if (fromUserId == toUserId)
        {
            return 0;
        }

        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow().UtcDateTime;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO users (id, created_at, last_active_at) VALUES ({toUserId}, {now}, {now}) ON CONFLICT (id) DO NOTHING",
                cancellationToken).ConfigureAwait(false);
            var moved = await db.Conversations.Where(c => c.UserId == fromUserId)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.UserId, toUserId), cancellationToken).ConfigureAwait(false);
            await db.Usage.Where(u => u.UserId == fromUserId)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.UserId, toUserId), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            health.ReportSuccess();
            return moved;
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            health.ReportFailure(ex);
            throw new StoreUnavailableException("Signing in", ex);
        }
    }
}
