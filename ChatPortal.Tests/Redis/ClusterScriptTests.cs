using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using Npgsql;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// ./cluster.sh for real: PostgreSQL, redis-server, two nodes and Debian's nginx with deploy/nginx/chatportal.conf.
/// A browser stays on one node; the API spreads; streams pass unbuffered; Stop works through the balancer.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterScriptTests : IAsyncLifetime
{
    private readonly ClusterScript _script = new(new Dictionary<string, string> { ["ChatPortal__Model__Simulated__TokensPerSecond"] = "30" });

    private Uri Balancer => new($"http://127.0.0.1:{_script.BalancerPort}/");

    public async Task InitializeAsync()
    {
        var (code, output) = await _script.RunAsync("up", "2");
        Assert.True(code == 0, $"cluster.sh up failed ({code}):\n{output}");
        Assert.Contains($"http://127.0.0.1:{_script.BalancerPort}", output);
        Assert.Contains($"127.0.0.1:{_script.PostgresPort}", output);
    }

    public async Task DisposeAsync()
    {
        await _script.RunAsync("down");
        _script.DeleteDirectory();
    }

    [Fact]
    public async Task TheBalancerSpreadsApiCallsAndKeepsABrowserOnOneNode()
    {
        var user = new ChatUser();
        using var api = user.On(Balancer);
        var apiNodes = new HashSet<string>();
        for (var i = 0; i < 8; i++)
        {
            var response = await api.Http.GetAsync("api/conversations");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            apiNodes.Add(response.Headers.GetValues("X-ChatPortal-Node").Single());
        }

        Assert.Equal(["node-1", "node-2"], apiNodes.Order());

        var pageNodes = new HashSet<string>();
        for (var i = 0; i < 8; i++)
        {
            var response = await api.Http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            pageNodes.Add(response.Headers.GetValues("X-ChatPortal-Node").Single());
        }

        Assert.Single(pageNodes);
    }

    [Fact]
    public async Task AnAnswerStreamsThroughTheBalancerAndStopsOnTheFirstCancelWhicheverNodeGetsIt()
    {
        var user = new ChatUser();
        using var api = user.On(Balancer);
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "through nginx please");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var deltas = 0;
        var cancels = new List<HttpResponseMessage>();
        string? taskId = null;
        var stream = await StreamResult.ReadAsync(response, async item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 5)
            {
                // Deltas arrive one by one (nginx does not buffer the stream), so Stop can come mid-answer.
                cancels.Add(await api.CancelAsync(taskId!));
            }
        });

        var cancel = Assert.Single(cancels);
        await AssertStoppedAsync(cancel);
        Assert.Equal("cancelled", stream.Status);
        var stored = await LastMessageAsync(api, id);
        Assert.Equal(stream.Text, stored.GetProperty("content").GetString());
    }

    [Fact]
    public async Task ItStartsAPostgresWithTheClusterDatabaseAndHandsItToEveryNode()
    {
        var connectionString = $"Host=127.0.0.1;Port={_script.PostgresPort};Username=chatportal;Database=chatportal;Pooling=false";
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT current_database()", connection);
            Assert.Equal("chatportal", await command.ExecuteScalarAsync());
        }

        foreach (var node in (string[])["node-1", "node-2"])
        {
            var environment = await NodeEnvironmentAsync(node);
            Assert.Equal("Postgres", environment.GetValueOrDefault("ChatPortal__Database__Provider"));
            Assert.Equal(connectionString.Replace(";Pooling=false", ""), environment.GetValueOrDefault("ChatPortal__Database__ConnectionString"));
        }
    }

    /// <summary>The environment cluster.sh gave a node's process (/proc/PID/environ).</summary>
    private async Task<Dictionary<string, string>> NodeEnvironmentAsync(string node)
    {
        var pid = (await File.ReadAllTextAsync(Path.Combine(_script.Directory, node + ".pid"))).Trim();
        var environ = await File.ReadAllTextAsync($"/proc/{pid}/environ");
        return environ.Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
    }
}
