using ChatPortal.Core.Configuration;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Ownership;
using ChatPortal.Core.Redis;
using ChatPortal.Core.Storage;
using ChatPortal.Core.Tasks;
using ChatPortal.Core.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core;

public static class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Options (validated at start), the system of record (database), the generation engine, ownership
    /// (leases, janitor), the model client, and — with <c>Redis</c> set — the Redis fast path between nodes.
    /// </summary>
    public static IServiceCollection AddChatPortalCore(this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, string> nodeId)
    {
        if (!string.IsNullOrWhiteSpace(configuration[$"{ChatPortalOptions.SectionName}:Redis"]))
        {
            // Internal, benchmark only: the polling fix ChatPortal replaces, measured side by side.
            if (configuration[$"{ChatPortalOptions.SectionName}:Internal:CancelStrategy"] == PollingBaselineCoordinator.StrategyName)
            {
                services.TryAddSingleton<PollingBaselineCoordinator>();
                services.TryAddSingleton<ITaskCoordinator>(sp => sp.GetRequiredService<PollingBaselineCoordinator>());
            }

            services.AddChatPortalRedis();
        }

        return services.AddChatPortalCore(nodeId);
    }

    /// <summary>The embedded default: one node on the configured database, no Redis whatever the configuration says.</summary>
    public static IServiceCollection AddChatPortalCore(this IServiceCollection services, Func<IServiceProvider, string> nodeId)
    {
        services.AddOptions<ChatPortalOptions>()
            .BindConfiguration(ChatPortalOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChatPortalOptions>, ChatPortalOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new NodeIdentity(nodeId(sp)));
        services.TryAddSingleton<NodeInstance>();
        services.TryAddSingleton<NodeActivity>();
        services.TryAddSingleton<LocalTaskRegistry>();
        services.TryAddSingleton<TaskLifecycleEvents>();
        services.TryAddSingleton<CoordinationHealth>();
        services.TryAddSingleton<ChatPortalMetrics>();
        services.AddChatPortalDatabase();
        services.TryAddSingleton<ITaskCoordinator, InMemoryTaskCoordinator>();
        services.TryAddSingleton<INodeDirectory, SingleNodeDirectory>();
        services.TryAddSingleton<AnswerCommitter>();
        services.TryAddSingleton(sp => new Limits.LimitCounters(
            sp.GetService<RedisConnection>(),
            sp.GetRequiredService<IOptions<ChatPortalOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Limits.LimitCounters>>()));
        services.TryAddSingleton<GenerationEngine>();

        // Ownership: the lease keeper starts first (it migrates the database and registers the instance).
        services.TryAddSingleton<LeaseKeeper>();
        services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        services.TryAddSingleton<Janitor>();
        services.AddHostedService(sp => sp.GetRequiredService<Janitor>());

        // The models: one Microsoft.Extensions.AI pipeline per configured model (an IChatClient registered here replaces them all).
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<TitleWriter>();
        services.TryAddSingleton<ConversationEvents>();

        return services;
    }

    /// <summary>
    /// Redis mode: one multiplexer per process and the Redis coordinator (a hosted service: subscriptions,
    /// presence, watchdog, follow relay).
    /// </summary>
    public static IServiceCollection AddChatPortalRedis(this IServiceCollection services)
    {
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<ISharedStateConnection>(sp => sp.GetRequiredService<RedisConnection>());
        services.TryAddSingleton<RedisTaskCoordinator>();
        services.TryAddSingleton<ITaskCoordinator>(sp => sp.GetRequiredService<RedisTaskCoordinator>());
        services.TryAddSingleton<INodeDirectory>(sp => sp.GetRequiredService<RedisTaskCoordinator>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisTaskCoordinator>());
        return services;
    }
}
