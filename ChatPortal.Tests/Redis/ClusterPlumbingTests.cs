using ChatPortal.Hubs;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ChatPortal.Tests.Redis;

/// <summary>The ASP.NET plumbing of Redis mode is wired as the architecture says, and nothing more.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterPlumbingTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ChatPortalNode _node = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _node = new ChatPortalNode("node-plumbing", await ChatPortalNode.ClusterSettingsAsync(_redis));
        _node.StartServer();
    }

    public async Task DisposeAsync()
    {
        _node.Dispose();
        await _redis.DisposeAsync();
    }

    [Fact]
    public void NoHubUsesARedisBackplaneNeitherTheTaskEventsHubNorBlazorsCircuits()
    {
        var services = _node.Services;

        Assert.StartsWith("DefaultHubLifetimeManager", services.GetRequiredService<HubLifetimeManager<TaskEventsHub>>().GetType().Name);

        var componentHub = typeof(CircuitOptions).Assembly.GetType("Microsoft.AspNetCore.Components.Server.ComponentHub", throwOnError: true)!;
        var blazorManager = services.GetRequiredService(typeof(HubLifetimeManager<>).MakeGenericType(componentHub));
        Assert.StartsWith("DefaultHubLifetimeManager", blazorManager.GetType().Name);
    }

    [Fact]
    public void DataProtectionKeysAreSharedInTheDatabaseNotInRedis()
    {
        var options = _node.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value;

        Assert.IsType<ChatPortal.Hosting.DatabaseXmlRepository>(options.XmlRepository);
    }

    [Fact]
    public async Task PersistedCircuitStateGoesToARedisBackedHybridCache()
    {
        var options = _node.Services.GetRequiredService<IOptions<CircuitOptions>>().Value;
        Assert.NotNull(options.HybridPersistenceCache);

        // What the cache writes lands in Redis, under the configured prefix.
        await options.HybridPersistenceCache!.SetAsync("plumbing-probe", "circuit-state");
        await using var admin = await _redis.ConnectAsync();
        var keys = admin.GetServer(_redis.ConnectionString).Keys(pattern: "*plumbing-probe*").Select(k => (string)k!).ToList();
        Assert.Contains(keys, k => k.StartsWith("cp:cache:", StringComparison.Ordinal));
    }
}
