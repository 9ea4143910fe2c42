using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Telemetry;
using ChatPortal.Core.Redis;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core;

public static class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Options (validated at start), the generation engine, the model client and the in-memory state of
    /// the embedded default. Redis mode replaces the store and coordinator (see <c>AddChatPortalRedis</c>).
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

    /// <summary>The embedded default: in-memory state, whatever the configuration says about Redis.</summary>
    public static IServiceCollection AddChatPortalCore(this IServiceCollection services, Func<IServiceProvider, string> nodeId)
    {
        services.AddOptions<ChatPortalOptions>()
            .BindConfiguration(ChatPortalOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChatPortalOptions>, ChatPortalOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new NodeIdentity(nodeId(sp)));
        services.TryAddSingleton<LocalTaskRegistry>();
        services.TryAddSingleton<TaskLifecycleEvents>();
        services.TryAddSingleton<CoordinationHealth>();
        services.TryAddSingleton<ChatPortalMetrics>();
        services.TryAddSingleton<IConversationStore, InMemoryConversationStore>();
        services.TryAddSingleton<ITaskCoordinator, InMemoryTaskCoordinator>();
        services.TryAddSingleton<GenerationEngine>();

        services.AddChatClient(sp => sp.GetRequiredService<IOptions<ChatPortalOptions>>().Value.Model switch
            {
                { Provider: ModelProvider.OpenAI, OpenAI: var openAI } => OpenAICompatibleClient.Create(openAI),
                _ => ActivatorUtilities.CreateInstance<SimulatedChatClient>(sp),
            })
            .UseOpenTelemetry(sourceName: ChatPortalMetrics.Name)
            .UseLogging();

        return services;
    }

    /// <summary>
    /// Redis mode: one multiplexer per process, the Redis conversation store and task coordinator (a hosted
    /// service: subscription, heartbeat, janitor, watchdog).
    /// </summary>
    public static IServiceCollection AddChatPortalRedis(this IServiceCollection services)
    {
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<StackExchange.Redis.IConnectionMultiplexer>(sp => sp.GetRequiredService<RedisConnection>().Multiplexer);
        services.TryAddSingleton<RedisConversationStore>();
        services.TryAddSingleton<IConversationStore>(sp => sp.GetRequiredService<RedisConversationStore>());
        services.TryAddSingleton<RedisTaskCoordinator>();
        services.TryAddSingleton<ITaskCoordinator>(sp => sp.GetRequiredService<RedisTaskCoordinator>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisTaskCoordinator>());
        return services;
    }
}
