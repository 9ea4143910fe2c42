using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// What becomes of an anonymous user's conversations when they sign up or sign in. Signing up keeps the user id
/// (the anonymous row becomes the account), so nothing moves. Signing in to an existing account moves every
/// conversation and the usage ledger of the anonymous user to the account in one transaction.
/// </summary>
/// <remarks>
/// An answer running in a moved conversation runs on: its claim is on the conversation and its commit is fenced by
/// the claim, not by the user, so it is stored in the account's conversation. The account can stop it through the
/// database's record of whose conversation it is (see <c>GenerationEngine.CancelAsync</c>). The anonymous row
/// itself stays: deleting it would cascade to a conversation that another tab created after the move.
/// </remarks>
public sealed class AnonymousHandover(IDbContextFactory<ChatPortalDbContext> contexts)
{
    /// <summary>Makes sure the user's row exists (an anonymous user gets one with their first conversation).</summary>
    public async Task EnsureUserRowAsync(string userId, CancellationToken cancellationToken = default)
    {
        var now = DateTime.UtcNow;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.Database.ExecuteSqlAsync($"INSERT INTO users (id, created_at, last_active_at) VALUES ({userId}, {now}, {now}) ON CONFLICT (id) DO NOTHING", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the conversations (and usage) of <paramref name="anonymousUserId"/> to <paramref name="accountId"/>, only
    /// if the former is anonymous (no user name): an account's conversations never move. Returns how many moved.
    /// </summary>
    public async Task<int> MoveAsync(string anonymousUserId, string accountId, CancellationToken cancellationToken = default)
    {
        if (anonymousUserId == accountId)
        {
            return 0;
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (!await db.Users.AnyAsync(u => u.Id == anonymousUserId && u.UserName == null, cancellationToken).ConfigureAwait(false)
                || !await db.Users.AnyAsync(u => u.Id == accountId && u.UserName != null, cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            var moved = await db.Conversations.Where(c => c.UserId == anonymousUserId)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.UserId, accountId), cancellationToken).ConfigureAwait(false);
            await db.Usage.Where(u => u.UserId == anonymousUserId)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.UserId, accountId), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return moved;
        }).ConfigureAwait(false);
    }
}
