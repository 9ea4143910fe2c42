using ChatPortal.Core;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Storage;
using ChatPortal.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Storage;

/// <summary>
/// What one node holds of the system of record: its own container (so its own history cache and statement
/// counter), initialised as the host does it (migrate, then a lease for a new instance).
/// </summary>
public sealed class StoreNode : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private StoreNode(ServiceProvider services, string nodeId, string instanceId)
    {
        _services = services;
        NodeId = nodeId;
        InstanceId = instanceId;
    }

    public string NodeId { get; }

    public string InstanceId { get; }

    /// <summary>The node's container (its store, engine and options, for component tests).</summary>
    public IServiceProvider Services => _services;

    public IConversationStore Store => _services.GetRequiredService<IConversationStore>();

    public DatabaseConversationStore Database => _services.GetRequiredService<DatabaseConversationStore>();

    public InstanceLeases Leases => _services.GetRequiredService<InstanceLeases>();

    public ChatPortal.Core.Usage.IUsageReports Usage => _services.GetRequiredService<ChatPortal.Core.Usage.IUsageReports>();

    public IDbContextFactory<ChatPortalDbContext> Contexts => _services.GetRequiredService<IDbContextFactory<ChatPortalDbContext>>();

    /// <summary>Statements this node sent (the production counter the dashboard shows).</summary>
    public long Statements => _services.GetRequiredService<DbStatementCounter>().Statements;

    /// <summary>
    /// From here on, counts the message rows the calling test reads from the database (materialised
    /// <see cref="MessageRecord"/>s), whichever node reads them. One interceptor instance for the process (EF Core
    /// builds an internal service provider per singleton interceptor instance), the count follows the test's flow.
    /// </summary>
    public static MessageRowCount CountMessageRowsRead()
    {
        var count = new MessageRowCount();
        MessageRowCounter.Current.Value = count;
        return count;
    }

    public static async Task<StoreNode> StartAsync(IReadOnlyDictionary<string, string?> settings, string nodeId = "node-a")
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<IConfiguration>(config);
        services.AddChatPortalCore(_ => nodeId);
        services.ConfigureDbContext<SqliteChatPortalDbContext>(b => b.AddInterceptors(MessageRowCounter.Instance), ServiceLifetime.Singleton);
        services.ConfigureDbContext<PostgresChatPortalDbContext>(b => b.AddInterceptors(MessageRowCounter.Instance), ServiceLifetime.Singleton);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            await provider.GetRequiredService<DatabaseInitializer>().InitializeAsync();
            var instanceId = Ids.NewMessageId();
            await provider.GetRequiredService<InstanceLeases>().RegisterAsync(instanceId, nodeId);
            return new StoreNode(provider, nodeId, instanceId);
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    /// <summary>A count straight from the tables (no cache, no store logic).</summary>
    public async Task<long> CountAsync(FormattableString sql)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        return await db.Database.SqlQuery<long>(sql).SingleAsync();
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    /// <summary>Counts message rows materialised from query results into the count of the flow that asked.</summary>
    private sealed class MessageRowCounter : IMaterializationInterceptor
    {
        public static readonly MessageRowCounter Instance = new();

        public static readonly AsyncLocal<MessageRowCount?> Current = new();

        public object InitializedInstance(MaterializationInterceptionData materializationData, object entity)
        {
            if (entity is MessageRecord)
            {
                Current.Value?.Add();
            }

            return entity;
        }
    }
}

/// <summary>Message rows read by one test's flow (see <see cref="StoreNode.CountMessageRowsRead"/>).</summary>
public sealed class MessageRowCount
{
    private long _rows;

    public long Rows => Interlocked.Read(ref _rows);

    internal void Add() => Interlocked.Increment(ref _rows);
}

/// <summary>One database per test class; each test opens its own nodes on it and uses users of its own.</summary>
public abstract class StoreDatabase : IAsyncLifetime
{
    public abstract IReadOnlyDictionary<string, string?> Settings { get; }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>The embedded default: a SQLite file in a temp data directory.</summary>
public sealed class SqliteStoreDatabase : StoreDatabase
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("chatportal-store-");

    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["ChatPortal:DataDirectory"] = _directory.FullName,
    };

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>A cluster's system of record: a fresh database on the shared throwaway PostgreSQL.</summary>
public sealed class PostgresStoreDatabase : StoreDatabase
{
    private string? _connectionString;

    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["ChatPortal:Database:Provider"] = "Postgres",
        ["ChatPortal:Database:ConnectionString"] = _connectionString ?? throw new InvalidOperationException("The database is not created yet."),
    };

    public override async Task InitializeAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _connectionString = await server.CreateDatabaseAsync(PostgresServer.UniqueName("store"));
    }
}
