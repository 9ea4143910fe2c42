using ChatPortal.Core.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core.Storage;

/// <summary>
/// Prepares the database at start: creates the data directory of the embedded default, applies the
/// migrations (EF Core takes a migration lock, so nodes starting together migrate once; operators who migrate
/// separately set <c>Database:MigrateOnStart=false</c>), and turns on SQLite's write-ahead log.
/// </summary>
public sealed partial class DatabaseInitializer(
    IServiceProvider services,
    IDbContextFactory<ChatPortalDbContext> contexts,
    IOptions<ChatPortalOptions> options,
    ILogger<DatabaseInitializer> logger)
{
    /// <summary>How long a starting node waits for an unreachable database before it gives up.</summary>
    public static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(60);

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var database = options.Value.Database;
        if (database.Provider == DatabaseProvider.Sqlite && string.IsNullOrWhiteSpace(database.ConnectionString))
        {
            Directory.CreateDirectory(DatabaseServiceCollectionExtensions.DataDirectory(services));
        }

        var deadline = DateTime.UtcNow + StartPatience;
        while (true)
        {
            try
            {
                await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
                if (database.MigrateOnStart)
                {
                    // Under a lock: of nodes starting together, one migrates, the others find it done.
                    Log.Migrating(logger, database.Provider.ToString());
                    await MigrateAsync(db, cancellationToken).ConfigureAwait(false);
                }

                if (db.Database.IsSqlite())
                {
                    await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) && DateTime.UtcNow < deadline && ex is not SqliteException { SqliteErrorCode: 14 })
            {
                Log.Waiting(logger, ex.GetBaseException().Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The key of the PostgreSQL advisory lock that serialises the migrations of nodes starting together.</summary>
    internal const long MigrationLockKey = 0x43_68_61_74_50_6f_72_74; // "ChatPort"

    /// <summary>
    /// EF Core's own migration lock is released with each migration's transaction on PostgreSQL: with two migrations
    /// pending, a node starting alongside could take the lock between them and apply the second one as well (the
    /// second node then fails on "relation already exists"). A session-level advisory lock on the migrating connection
    /// covers the whole run; SQLite (one node) keeps EF Core's lock.
    /// </summary>
    private static async Task MigrateAsync(ChatPortalDbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsNpgsql())
        {
            await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken).ConfigureAwait(false);
            try
            {
                await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Information, "Bringing the {Provider} database up to date (migrations).")]
        public static partial void Migrating(ILogger logger, string provider);

        [LoggerMessage(5002, LogLevel.Warning, "The database is not reachable yet ({Error}); retrying.")]
        public static partial void Waiting(ILogger logger, string error);
    }
}
