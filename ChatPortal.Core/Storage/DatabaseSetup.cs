using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>Provider options in one place, for the node and for the design-time tools alike.</summary>
public static class DatabaseSetup
{
    public static DbContextOptionsBuilder<T> Sqlite<T>(DbContextOptionsBuilder<T> builder, string connectionString)
        where T : DbContext
    {
        builder.UseSqlite(connectionString, sqlite => sqlite.CommandTimeout(30)).UseSnakeCaseNamingConvention();
        return builder;
    }

    public static DbContextOptionsBuilder<T> Postgres<T>(DbContextOptionsBuilder<T> builder, string connectionString)
        where T : DbContext
    {
        // Connections taken from the pool skip the session reset (DISCARD ALL, a transaction of its own each time):
        // the store keeps no session state. An operator's explicit setting wins.
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase))
        {
            settings.NoResetOnClose = true;
        }

        builder.UseNpgsql(settings.ConnectionString, npgsql => npgsql.CommandTimeout(10)).UseSnakeCaseNamingConvention();
        return builder;
    }
}
