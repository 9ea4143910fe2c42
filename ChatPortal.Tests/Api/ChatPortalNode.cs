using ChatPortal.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Api;

/// <summary>
/// A ChatPortal node in the test process on a real Kestrel port, configured like an operator would
/// (<c>ChatPortal:*</c> settings). Several of them sharing one redis-server make a cluster.
/// </summary>
public sealed class ChatPortalNode : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    /// <summary>The temp data directory this node owns (deleted on dispose); null when the caller chose one.</summary>
    private readonly string? _ownDataDirectory;

    public ChatPortalNode(string nodeId = "node-a", IDictionary<string, string?>? settings = null)
    {
        NodeId = nodeId;
        _settings = new Dictionary<string, string?>
        {
            ["ChatPortal:NodeId"] = nodeId,
            ["ChatPortal:Admin:Password"] = NodeProcess.AdminPassword,
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "200",
            ["ChatPortal:Model:Simulated:ResponseTokens"] = "60",
            ["ChatPortal:Model:Simulated:FirstTokenDelayMs"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        // In the test process the content root is the web project: without this every node would share its data/.
        if (!_settings.ContainsKey("ChatPortal:DataDirectory"))
        {
            _ownDataDirectory = Directory.CreateTempSubdirectory($"chatportal-{nodeId}-").FullName;
            _settings["ChatPortal:DataDirectory"] = _ownDataDirectory;
        }

        UseKestrel(0);
    }

    /// <summary>
    /// The settings that put in-process nodes in a cluster: the shared Redis and a fresh database (per call) on the
    /// test process's shared PostgreSQL, as a cluster requires.
    /// </summary>
    public static async Task<Dictionary<string, string?>> ClusterSettingsAsync(RedisServer redis)
    {
        var postgres = await PostgresServer.SharedAsync();
        return new Dictionary<string, string?>
        {
            ["ChatPortal:Redis"] = redis.ConnectionString,
            ["ChatPortal:Database:Provider"] = "Postgres",
            ["ChatPortal:Database:ConnectionString"] = await postgres.CreateDatabaseAsync(PostgresServer.UniqueName("node")),
        };
    }

    public string NodeId { get; }

    /// <summary>The real address Kestrel listens on (starts the node on first use).</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(address.Replace("[::]", "127.0.0.1").Replace("localhost", "127.0.0.1") + "/");
        }
    }

    public ChatApiClient ClientFor(ChatUser user) => user.On(BaseAddress);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _ownDataDirectory is not null && Directory.Exists(_ownDataDirectory))
        {
            Directory.Delete(_ownDataDirectory, recursive: true);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
