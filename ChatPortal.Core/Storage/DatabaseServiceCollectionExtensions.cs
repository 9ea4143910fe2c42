using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core.Storage;

public static class DatabaseServiceCollectionExtensions
{
    /// <summary>
    /// The system of record: pooled contexts of the configured provider, the conversation store, leases, and
    /// the start-up migration (under EF Core's migration lock, so nodes starting together migrate once).
    /// </summary>
    public static IServiceCollection AddChatPortalDatabase(this IServiceCollection services)
    {
        services.TryAddSingleton<DbStatementCounter>();
        services.TryAddSingleton(sp => new DatabaseHealth(sp.GetRequiredService<TimeProvider>())
        {
            Provider = sp.GetRequiredService<IOptions<ChatPortalOptions>>().Value.Database.Provider.ToString(),
        });
        services.TryAddSingleton<ConversationCache>();
        services.AddPooledDbContextFactory<SqliteChatPortalDbContext>((sp, builder) =>
            Configure(sp, (DbContextOptionsBuilder<SqliteChatPortalDbContext>)builder, DatabaseSetup.Sqlite));
        services.AddPooledDbContextFactory<PostgresChatPortalDbContext>((sp, builder) =>
            Configure(sp, (DbContextOptionsBuilder<PostgresChatPortalDbContext>)builder, DatabaseSetup.Postgres));
        services.TryAddSingleton<IDbContextFactory<ChatPortalDbContext>, ConfiguredContextFactory>();
        services.TryAddSingleton<DatabaseConversationStore>();
        services.TryAddSingleton<IConversationStore>(sp => sp.GetRequiredService<DatabaseConversationStore>());
        services.TryAddSingleton<Usage.IUsageReports, DatabaseUsageReports>();
        services.TryAddSingleton<IConversationHandover, DatabaseConversationHandover>();
        services.TryAddSingleton<InstanceLeases>();
        services.TryAddSingleton<DatabaseInitializer>();
        services.AddHostedService<DeletedConversationPurge>();
        return services;
    }

    private static void Configure<T>(IServiceProvider services, DbContextOptionsBuilder<T> builder, Func<DbContextOptionsBuilder<T>, string, DbContextOptionsBuilder<T>> provider)
        where T : DbContext
    {
        provider(builder, ConnectionString(services));
        builder.AddInterceptors(services.GetRequiredService<DbStatementCounter>());
    }

    /// <summary>The configured connection string, or the SQLite file under <c>DataDirectory</c>.</summary>
    public static string ConnectionString(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ChatPortalOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(options.Database.ConnectionString))
        {
            return options.Database.ConnectionString;
        }

        return $"Data Source={Path.Combine(DataDirectory(services), "chatportal.db")}";
    }

    /// <summary><c>DataDirectory</c> resolved against the content root.</summary>
    public static string DataDirectory(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ChatPortalOptions>>().Value;
        var root = services.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
        return Path.GetFullPath(options.DataDirectory, root);
    }

    /// <summary>Hands out contexts of whichever provider is configured.</summary>
    private sealed class ConfiguredContextFactory(IServiceProvider services, IOptions<ChatPortalOptions> options) : IDbContextFactory<ChatPortalDbContext>
    {
        private readonly Func<ChatPortalDbContext> _create = options.Value.Database.Provider == DatabaseProvider.Postgres
            ? services.GetRequiredService<IDbContextFactory<PostgresChatPortalDbContext>>().CreateDbContext
            : services.GetRequiredService<IDbContextFactory<SqliteChatPortalDbContext>>().CreateDbContext;

        public ChatPortalDbContext CreateDbContext() => _create();
    }
}
