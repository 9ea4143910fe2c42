using ChatPortal.Core.Storage;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Hosting;

/// <summary>
/// Makes sure the cluster has one current Data Protection key before the node serves. Left to itself, each node
/// creates a key on its first use of an empty ring: nodes starting together on a fresh database each made their own,
/// and a cookie minted on one node was refused by the other until its key ring refreshed. On PostgreSQL the check
/// and the creation run under an advisory lock, so of nodes starting together one creates the key and the others
/// find it. (Runs after the lease keeper, which migrates the database.)
/// </summary>
internal sealed class KeyRingInitializer(IKeyManager keys, IDbContextFactory<ChatPortalDbContext> contexts, TimeProvider time) : IHostedService
{
    private const long LockKey = 0x43_68_61_74_4b_65_79_73; // "ChatKeys"
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(90);
    private static readonly TimeSpan RenewalMargin = TimeSpan.FromDays(2);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (!db.Database.IsNpgsql())
        {
            EnsureCurrentKey();
            return;
        }

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({LockKey})", cancellationToken).ConfigureAwait(false);
            try
            {
                EnsureCurrentKey();
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void EnsureCurrentKey()
    {
        var now = time.GetUtcNow();
        if (!keys.GetAllKeys().Any(k => !k.IsRevoked && k.ActivationDate <= now && k.ExpirationDate > now + RenewalMargin))
        {
            keys.CreateNewKey(now, now + KeyLifetime);
        }
    }
}
