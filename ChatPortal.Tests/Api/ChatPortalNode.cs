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
    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("chatportal-node-");

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

            // Each node its own SQLite file: one file serves one node.
            ["ChatPortal:DataDirectory"] = _dataDirectory.FullName,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
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
        if (disposing && _dataDirectory.Exists)
        {
            _dataDirectory.Delete(recursive: true);
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
