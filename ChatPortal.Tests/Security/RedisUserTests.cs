using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using ChatPortal.Tests.Redis;
using StackExchange.Redis;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Security;

/// <summary>
/// The nodes run on the limited Redis user that the compose file sets up (<c>deploy/redis/chatportal-user.rules</c>):
/// two real nodes on PostgreSQL and a redis-server configured from that file. Everything a node does works, and
/// whoever gets the nodes' Redis password still cannot wipe, reconfigure, stall or read past the product's keys.
/// </summary>
public sealed class RedisUserTests
{
    private const string User = "chatportal";
    private const string Password = "redis-user-test";

    /// <summary>The ACL rules of the file, as the compose file passes them to <c>--user chatportal on &gt;password</c>.</summary>
    private static IReadOnlyList<string> Rules() =>
        [.. File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "deploy", "redis", "chatportal-user.rules"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .SelectMany(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))];

    [Fact]
    public void TheComposeFileRunsRedisWithThatUserOnlyAndTheNodesConnectAsIt()
    {
        var compose = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docker-compose.multi-node.yml"));
        Assert.Contains("--user default off --user chatportal on", compose);
        Assert.Contains("./deploy/redis/chatportal-user.rules:/etc/redis/chatportal-user.rules:ro", compose);
        Assert.Contains("ChatPortal__Redis: redis:6379,user=chatportal,password=", compose);
        Assert.DoesNotContain("--requirepass", compose);
    }

    [Fact]
    public async Task TwoNodesOnTheLimitedUserAnswerStopAcrossNodesFollowAndReportRedisButTheUserCannotRunDangerousCommands()
    {
        var rules = Rules();
        Assert.Contains("-@dangerous", rules);
        var model = new Dictionary<string, string>
        {
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = "30",
            ["ChatPortal__Model__Simulated__ResponseTokens"] = "60",
            ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "200",
        };
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: model, redis: (["--user", User, "on", $">{Password}", .. rules], $"user={User},password={Password}", "cp:"));
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);

        // A Stop through the other node works on its first request (the cancel push is sharded pub/sub under cp:).
        var stopped = await a.CreateConversationAsync();
        using (var response = await a.SendAsync(stopped, "stop me through node b"))
        {
            string? taskId = null;
            Task<HttpResponseMessage>? cancel = null;
            var deltas = 0;
            var stream = await StreamResult.ReadAsync(response, item =>
            {
                taskId ??= item.Get("taskId");
                if (item.Name == "delta" && ++deltas == 5)
                {
                    cancel = b.CancelAsync(taskId!);
                }

                return Task.CompletedTask;
            });
            var answer = await cancel!;
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("cancelled", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
            Assert.Equal("cancelled", stream.Status);
        }

        // Following from the other node (the follow relay and the task's stream channel).
        var followed = await a.CreateConversationAsync();
        using (var response = await a.SendAsync(followed, "follow me from node b"))
        {
            var taskId = await ReadTaskIdAsync(response);
            using var follow = await b.FollowAsync(taskId);
            Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
            using var cancelled = await a.CancelAsync(taskId);
            Assert.Equal("cancelled", (await StreamResult.ReadAsync(follow)).Status);
        }

        // The admin overview from node b: both nodes' heartbeats, and INFO (the one command the rules add back).
        using var admin = new HttpClient { BaseAddress = cluster.B.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"admin:{NodeProcess.AdminPassword}")));
        await Cluster.EventuallyAsync(async () =>
        {
            var overview = await admin.GetFromJsonAsync<JsonElement>("api/admin/overview");
            return overview.GetProperty("nodes").GetArrayLength() == 2
                && overview.GetProperty("redis").GetProperty("status").GetString() == "healthy"
                && !string.IsNullOrEmpty(overview.GetProperty("redis").GetProperty("version").GetString());
        }, TimeSpan.FromSeconds(15), "node b's overview shows both nodes and a healthy Redis with its version");

        // Whoever holds the nodes' password is refused everything dangerous, and every key outside cp:.
        await using var limited = await ConnectionMultiplexer.ConnectAsync($"{cluster.Redis.ConnectionString},user={User},password={Password},abortConnect=true,allowAdmin=true");
        var db = limited.GetDatabase();
        foreach (var command in new object[][] { ["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "SET", "maxmemory", "1"], ["DEBUG", "SLEEP", "0"], ["KEYS", "*"], ["SHUTDOWN", "NOSAVE"], ["CLIENT", "KILL", "TYPE", "pubsub"], ["ACL", "SETUSER", User, "+@all"] })
        {
            var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync((string)command[0], command[1..]));
            Assert.StartsWith("NOPERM", refused.Message);
        }

        var outside = await Assert.ThrowsAsync<RedisServerException>(() => db.StringSetAsync("elsewhere", "x"));
        Assert.StartsWith("NOPERM", outside.Message);
        Assert.True(await db.StringSetAsync("cp:test:probe", "x"));

        // The product's data is still there and the nodes still answer.
        Assert.Equal(2, (await a.GetConversationAsync(stopped)).GetProperty("messages").GetArrayLength());
        using var last = await b.SendAsync(followed, "still here?");
        Assert.Equal("completed", (await StreamResult.ReadAsync(last)).Status);
    }
}
