using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// <see cref="IConversationHandover"/> on the system of record: the conversations' owner and the usage rows (the daily
/// quota follows the person, so signing in does not reset it) change in one transaction, each update conditional on
/// the source still being anonymous (a sign-up of that id at the same moment moves nothing). Caches hold history by
/// conversation, never its owner, so none needs dropping.
/// </summary>
/// <remarks>
/// An answer running in a moved conversation runs on: its claim is on the conversation and its commit is fenced by
/// the claim, not by the user, so it is stored in the account's conversation. The account can stop it through the
/// database's record of whose conversation it is (see <c>GenerationEngine.CancelAsync</c>). The anonymous row itself
/// stays: deleting it would cascade to a conversation that another tab created after the move.
/// </remarks>
public sealed class DatabaseConversationHandover(IDbContextFactory<ChatPortalDbContext> contexts, DatabaseHealth health) : IConversationHandover
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
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (!await db.Users.AnyAsync(u => u.Id == toUserId && u.UserName != null, cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            var anonymous = db.Users.Where(u => u.Id == fromUserId && u.UserName == null);
            var moved = await db.Conversations.Where(c => c.UserId == fromUserId && anonymous.Any())
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.UserId, toUserId), cancellationToken).ConfigureAwait(false);
            await db.Usage.Where(u => u.UserId == fromUserId && anonymous.Any())
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
