using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Redis;

/// <summary>Redis and nodes failing under running answers. Each test breaks its own cluster.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class FailureTests
{
    [Fact]
    public async Task WithThePubSubConnectionKilledACancelStillLandsOnTheFirstRequestAndTheSubscriptionComesBack()
    {
        await using var cluster = await Cluster.StartAsync();
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "keep talking");
        var taskId = await ReadTaskIdAsync(response);

        // Every node's subscription connection dies; the cancel's message may be lost, its flag is not.
        var killed = (long)await cluster.Redis.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        Assert.True(killed >= 2, $"killed {killed} pub/sub connections");
        var cancel = await b.CancelAsync(taskId);

        await AssertStoppedAsync(cancel);

        // The subscriptions are back: the next cross-node cancel is pushed as usual.
        await Cluster.EventuallyAsync(async () => await SubscribersAsync(cluster) >= 2,
            TimeSpan.FromSeconds(10), "both nodes subscribed again");
        var second = await a.CreateConversationAsync();
        using var again = await a.SendAsync(second, "once more");
        var secondTask = await ReadTaskIdAsync(again);
        var cancelAgain = await b.CancelAsync(secondTask);
        await AssertStoppedAsync(cancelAgain);
    }

    [Fact]
    public async Task WithRedisKilledMidAnswerAndRestartedEmptyNothingIsLostAndSendingGoesOn()
    {
        await using var cluster = await Cluster.StartAsync(settings: new Dictionary<string, string>
        {
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = "40",
            ["ChatPortal__Model__Simulated__ResponseTokens"] = "200",
            ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
        });
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "survive an outage");

        var deltas = 0;
        string? readyDuringOutage = null;
        var stream = await StreamResult.ReadAsync(response, async item =>
        {
            if (item.Name == "delta" && ++deltas == 20)
            {
                await cluster.Redis.KillAsync();
                await Cluster.EventuallyAsync(async () => (readyDuringOutage = (await Cluster.ReadyAsync(cluster.A)).GetProperty("status").GetString()) == "Degraded",
                    TimeSpan.FromSeconds(10), "node a reports Degraded");
            }
        });

        // The stream went on through the outage to its end.
        Assert.Equal("Degraded", readyDuringOutage);
        Assert.Equal("completed", stream.Status);
        Assert.Equal(200, stream.Events.Count(e => e.Name == "delta"));

        // Still without Redis: every node reads the history from the database, the answer streamed during the
        // outage included (Redis holds nothing that matters).
        foreach (var client in new[] { a, b })
        {
            var messages = (await client.GetConversationAsync(id)).GetProperty("messages");
            Assert.Equal(2, messages.GetArrayLength());
            Assert.Equal(stream.Text, messages[1].GetProperty("content").GetString());
            Assert.Equal("completed", messages[1].GetProperty("status").GetString());
        }

        Assert.Equal(JsonValueKind.Null, (await b.GetConversationAsync(id)).GetProperty("activeTask").ValueKind);

        await cluster.Redis.RestartAsync();
        await Cluster.EventuallyAsync(async () => (await Cluster.ReadyAsync(cluster.A)).GetProperty("status").GetString() == "Healthy",
            TimeSpan.FromSeconds(15), "node a reports Healthy again");

        // And cross-node cancel works again.
        using var next = await a.SendAsync(id, "and now stop from b");
        var taskId = await ReadTaskIdAsync(next);
        var cancel = await b.CancelAsync(taskId);
        await AssertStoppedAsync(cancel);
    }

    [Fact]
    public async Task WithRedisDownSameNodeCancelStillWorks()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 1);
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "stop me without redis");
        var taskId = await ReadTaskIdAsync(response);

        await cluster.Redis.KillAsync();
        var cancel = await a.CancelAsync(taskId);

        await AssertStoppedAsync(cancel);
        Assert.Equal("cancelled", (await a.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AKilledNodesTaskLeavesTheClusterWithin30SecondsAndTheUserContinuesOnAnotherNode()
    {
        await using var cluster = await Cluster.StartAsync();
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "i will lose my node");
        var taskId = await ReadTaskIdAsync(response);
        Assert.Equal("node-a", (await b.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("node").GetString());

        await cluster.A.KillAsync();
        var killedAt = DateTime.UtcNow;

        await Cluster.EventuallyAsync(async () => (await b.GetConversationAsync(id)).GetProperty("activeTask").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(30), "the dead node's task leaves the conversation");
        Assert.True(DateTime.UtcNow - killedAt < TimeSpan.FromSeconds(30));
        Assert.NotEqual("running", (await b.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());

        using var next = await b.SendAsync(id, "carry on here");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var taskOnB = await ReadTaskIdAsync(next);
        Assert.Equal(HttpStatusCode.OK, (await b.CancelAsync(taskOnB)).StatusCode);
        // The history says what happened to the lost answer, then goes on.
        var messages = (await b.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        var lost = messages.FindIndex(m => m.GetProperty("id").GetString() == taskId);
        Assert.True(lost > 0, "the lost answer is recorded");
        Assert.Equal("failed", messages[lost].GetProperty("status").GetString());
        Assert.Equal("carry on here", messages[lost + 1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task AGracefullyStoppedNodeGivesAnswersItsDrainTimeThenEndsThemFailedWithTheirTextKept()
    {
        // Rolling restart: SIGTERM. The node waits ShutdownDrainSeconds (2 s here) for running answers, then ends
        // the rest as failed with the text generated so far stored, and leaves the cluster at once.
        await using var cluster = await Cluster.StartAsync();
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "a long answer during a rolling restart");

        var deltas = 0;
        Task? stopping = null;
        var stream = await StreamResult.ReadAsync(response, item =>
        {
            if (item.Name == "delta" && ++deltas == 10)
            {
                stopping = cluster.A.StopAsync();
            }

            return Task.CompletedTask;
        });
        await stopping!;

        Assert.Equal("failed", stream.Status);
        Assert.Contains("shut down", stream.Reason);
        Assert.InRange(stream.Events.Count(e => e.Name == "delta"), 40, 299); // it kept streaming through the drain
        var stored = await LastMessageAsync(b, id);
        Assert.Equal("failed", stored.GetProperty("status").GetString());
        Assert.Equal(stream.Text, stored.GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, (await b.GetConversationAsync(id)).GetProperty("activeTask").ValueKind);

        using var next = await b.SendAsync(id, "continue on b");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b.CancelAsync(await ReadTaskIdAsync(next))).StatusCode);
    }

    private static async Task<long> SubscribersAsync(Cluster cluster)
    {
        // Channels use the cluster's key prefix and are sharded; count subscribers of every "…cancel" channel.
        var channels = (RedisResultArray)await cluster.Redis.ExecuteAsync("PUBSUB", "SHARDCHANNELS", "*cancel");
        long total = 0;
        foreach (var channel in channels.Values)
        {
            var numsub = (StackExchange.Redis.RedisResult[])(await cluster.Redis.ExecuteAsync("PUBSUB", "SHARDNUMSUB", (string)channel!))!;
            total += (long)numsub[1];
        }

        return total;
    }

    private readonly record struct RedisResultArray(StackExchange.Redis.RedisResult[] Values)
    {
        public static explicit operator RedisResultArray(StackExchange.Redis.RedisResult result) => new((StackExchange.Redis.RedisResult[])result!);
    }
}
