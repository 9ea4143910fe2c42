using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// Work that nodes starting together must do one at a time (migrations, the first Data Protection key): on
/// PostgreSQL under a session-level advisory lock held on the context's connection for the whole of it; on SQLite
/// (one node) as it is.
/// </summary>
public static class AdvisoryLock
{
    public static async Task RunAsync(ChatPortalDbContext db, long key, Func<Task> work, CancellationToken cancellationToken)
    {
        if (!db.Database.IsNpgsql())
        {
            await work().ConfigureAwait(false);
            return;
        }

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var timeout = db.Database.GetCommandTimeout();
        try
        {
            // Waiting for another node's turn is not a slow statement: the short command timeout does not apply to it
            // (nodes starting together on a loaded machine waited past it for the first admin account).
            db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({key})", cancellationToken).ConfigureAwait(false);
            db.Database.SetCommandTimeout(timeout);
            try
            {
                await work().ConfigureAwait(false);
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({key})", CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            db.Database.SetCommandTimeout(timeout);
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }
}
