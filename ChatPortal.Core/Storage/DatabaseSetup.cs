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
        builder.UseNpgsql(connectionString, npgsql => npgsql.CommandTimeout(10)).UseSnakeCaseNamingConvention();
        return builder;
    }
}
