using ChatPortal.Core.Configuration;
using ChatPortal.Core.Coordination;
using ChatPortal.Hubs;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using System.Security.Cryptography.X509Certificates;
using ChatPortal.Core.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Microsoft.JSInterop;
using StackExchange.Redis;

namespace ChatPortal.Hosting;

/// <summary>The ASP.NET plumbing that makes identical nodes interchangeable.</summary>
internal static class ClusterServiceCollectionExtensions
{
    public const string ApplicationName = "ChatPortal";

    public static IServiceCollection AddChatPortalCluster(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<CircuitTracker>();
        services.AddScoped<CircuitHandler>(sp => new CircuitTracker.Handler(sp.GetRequiredService<CircuitTracker>(), sp.GetRequiredService<IJSRuntime>()));
        services.AddSingleton<NodeDrain>();
        services.AddSignalR();
        services.AddHostedService<TaskEventsBroadcaster>();

        // Cookies, antiforgery and protected component state validate on every node and survive a Redis wipe:
        // one key ring in the database, encrypted with a certificate when one is configured.
        var dataProtection = services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<IDbContextFactory<ChatPortalDbContext>>((options, contexts) =>
            options.XmlRepository = new DatabaseXmlRepository(contexts));
        services.AddHostedService<KeyRingInitializer>();
        var certificate = configuration[$"{ChatPortalOptions.SectionName}:DataProtection:CertificatePath"];
        if (!string.IsNullOrWhiteSpace(certificate) && File.Exists(certificate))
        {
            dataProtection.ProtectKeysWithCertificate(X509CertificateLoader.LoadPkcs12FromFile(
                certificate, configuration[$"{ChatPortalOptions.SectionName}:DataProtection:CertificatePassword"]));
        }

        if (string.IsNullOrWhiteSpace(configuration[$"{ChatPortalOptions.SectionName}:Redis"]))
        {
            return services;
        }

        // .NET 10 persisted circuit state on a Redis-backed HybridCache: a circuit that drops can resume on another node.
        services.AddStackExchangeRedisCache(_ => { });
        services.AddOptions<Microsoft.Extensions.Caching.StackExchangeRedis.RedisCacheOptions>().Configure<ISharedStateConnection>((options, redis) =>
        {
            options.ConnectionMultiplexerFactory = () => Task.FromResult(redis.Multiplexer);
            options.InstanceName = redis.CachePrefix;
        });
        services.AddHybridCache();
        services.AddOptions<CircuitOptions>().Configure<HybridCache>((options, cache) => options.HybridPersistenceCache = cache);

        // A graceful stop moves this node's pages to the other nodes first, while their connections are still up:
        // before a signal's ApplicationStopping (the console lifetime below), and before answers drain in the host's
        // "stopping" phase (registered after GenerationShutdown, and the host runs that phase in reverse order).
        services.AddSingleton<CircuitHandoff>();
        services.AddHostedService(sp => sp.GetRequiredService<CircuitHandoff>());
        services.AddSingleton<IHostLifetime>(sp => new ConsoleLifetime(
            sp.GetRequiredService<IOptions<ConsoleLifetimeOptions>>(),
            sp.GetRequiredService<IHostEnvironment>(),
            new HandoffFirstLifetime(sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<CircuitHandoff>()),
            sp.GetRequiredService<IOptions<HostOptions>>(),
            sp.GetRequiredService<ILoggerFactory>()));
        return services;
    }
}
