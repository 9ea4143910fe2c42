using ChatPortal.Core.Storage;
using ChatPortal.Testing;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Tests.Storage;

/// <summary>The migrations in the repository are the model, and they build a database from nothing on both providers.</summary>
public sealed class MigrationsTests
{
    [Fact]
    public void TheSqliteMigrationsMatchTheModel()
    {
        using var db = new SqliteChatPortalDbContext(DatabaseSetup.Sqlite(new DbContextOptionsBuilder<SqliteChatPortalDbContext>(), "Data Source=:memory:").Options);

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a SQLite migration: run Storage/regenerate-migrations.sh.");
    }

    [Fact]
    public void ThePostgresMigrationsMatchTheModel()
    {
        using var db = new PostgresChatPortalDbContext(DatabaseSetup.Postgres(new DbContextOptionsBuilder<PostgresChatPortalDbContext>(), "Host=127.0.0.1;Database=unused").Options);

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a PostgreSQL migration: run Storage/regenerate-migrations.sh.");
    }

    [Fact]
    public async Task TheMigrationsBuildAnEmptySqliteDatabase()
    {
        var directory = Directory.CreateTempSubdirectory("chatportal-migrate-");
        try
        {
            // A data directory that does not exist yet: the initializer creates it.
            var settings = new Dictionary<string, string?> { ["ChatPortal:DataDirectory"] = Path.Combine(directory.FullName, "data") };

            await using (var node = await StoreNode.StartAsync(settings))
            {
                await AssertMigratedAndUsableAsync(node);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheMigrationsBuildAnEmptyPostgresDatabase()
    {
        var server = await PostgresServer.SharedAsync();
        var name = PostgresServer.UniqueName("migrate");
        var settings = PostgresSettings(await server.CreateDatabaseAsync(name));

        await using var node = await StoreNode.StartAsync(settings);

        await AssertMigratedAndUsableAsync(node);
        var tables = await server.QueryAsync(name, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
        Assert.Superset(
            new HashSet<string> { "users", "conversations", "messages", "instances", "data_protection_keys", "__EFMigrationsHistory" },
            tables.Select(t => (string)t["table_name"]!).ToHashSet());
    }

    [Fact]
    public async Task TwoNodesMigratingOneFreshPostgresDatabaseAtOnceBothSucceedAndApplyEachMigrationOnce()
    {
        var server = await PostgresServer.SharedAsync();
        for (var round = 0; round < 3; round++)
        {
            var name = PostgresServer.UniqueName("race");
            var settings = PostgresSettings(await server.CreateDatabaseAsync(name));

            var nodes = await Task.WhenAll(Task.Run(() => StoreNode.StartAsync(settings, "node-a")), Task.Run(() => StoreNode.StartAsync(settings, "node-b")));
            try
            {
                string[] expected;
                await using (var db = await nodes[0].Contexts.CreateDbContextAsync())
                {
                    expected = [.. db.Database.GetMigrations()];
                }

                var history = await server.QueryAsync(name, "SELECT migration_id AS id, COUNT(*) AS n FROM \"__EFMigrationsHistory\" GROUP BY migration_id");
                Assert.Equal(expected.Order(), history.Select(r => (string)r["id"]!).Order());
                Assert.All(history, r => Assert.Equal(1L, Convert.ToInt64(r["n"])));
                await AssertMigratedAndUsableAsync(nodes[1]);
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
    }

    private static Dictionary<string, string?> PostgresSettings(string connectionString) => new()
    {
        ["ChatPortal:Database:Provider"] = "Postgres",
        ["ChatPortal:Database:ConnectionString"] = connectionString,
    };

    private static async Task AssertMigratedAndUsableAsync(StoreNode node)
    {
        await using (var db = await node.Contexts.CreateDbContextAsync())
        {
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        }

        var user = $"user-{ChatPortal.Core.Ids.NewUserId()}";
        var created = await node.Store.CreateAsync(user);
        Assert.Equal(created.Id, Assert.Single(await node.Store.ListAsync(user)).Id);
    }
}
