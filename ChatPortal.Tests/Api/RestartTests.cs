using System.Net;
using System.Text.Json;
using ChatPortal.Testing;
using ChatPortal.Tests.Redis;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Api;

/// <summary>
/// One node alone (embedded SQLite in its own DataDirectory, no Redis) as a real process, stopped or killed and
/// started again: its conversations are in the database file, not in its memory.
/// </summary>
[Collection(StoreFaultCollection.Name)]
public sealed class RestartTests
{
    private static Dictionary<string, string> FastModel => new()
    {
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = "200",
        ["ChatPortal__Model__Simulated__ResponseTokens"] = "20",
        ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
    };

    private static Dictionary<string, string> SlowModel => new()
    {
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = "20",
        ["ChatPortal__Model__Simulated__ResponseTokens"] = "400",
        ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
    };

    [Fact]
    public async Task ASingleNodeStoppedGracefullyAndStartedAgainKeepsTheConversationsAndMessagesOfTheSameUser() =>
        await KeepsHistoryAcrossAsync(node => node.StopAsync());

    [Fact]
    public async Task ASingleNodeKilledWithSigkillAndStartedAgainKeepsTheConversationsAndMessagesOfTheSameUser() =>
        await KeepsHistoryAcrossAsync(node => node.KillAsync());

    [Fact]
    public async Task ASingleNodeKilledMidAnswerRecordsTheInterruptedAnswerAsFailedAfterItsRestartAndTheConversationAcceptsANewMessage()
    {
        await using var node = await NodeProcess.StartAsync("single", SlowModel);
        var user = new ChatUser();
        using var api = user.On(node.BaseAddress);
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "a long answer that will not finish");
        string? taskId = null;
        var deltas = 0;
        await using (var stream = await response.Content.ReadAsStreamAsync())
        {
            await foreach (var item in Sse.ReadAsync(stream))
            {
                taskId ??= item.Get("taskId");
                if (item.Name == "delta" && ++deltas == 5)
                {
                    break;
                }
            }
        }

        Assert.NotNull(taskId);
        await node.KillAsync();
        var killedAt = DateTime.UtcNow;
        await node.RestartAsync();

        using var again = user.On(node.BaseAddress);
        await Cluster.EventuallyAsync(async () => (await again.GetConversationAsync(id)).GetProperty("activeTask").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(15), "the restarted node releases the interrupted answer");
        Assert.True(DateTime.UtcNow - killedAt < TimeSpan.FromSeconds(15), $"released {(DateTime.UtcNow - killedAt).TotalSeconds:0.0} s after the kill");

        var messages = (await again.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count);
        Assert.Equal("user", messages[0].GetProperty("role").GetString());
        Assert.Equal(taskId, messages[1].GetProperty("id").GetString());
        Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
        Assert.Equal("failed", messages[1].GetProperty("status").GetString());
        Assert.Equal("failed", (await again.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());

        using var next = await again.SendAsync(id, "and now a new question");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var nextTask = await ReadTaskIdAsync(next);
        await AssertStoppedAsync(await again.CancelAsync(nextTask));
        var after = (await again.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(4, after.Count);
        Assert.Equal("and now a new question", after[2].GetProperty("content").GetString());
        Assert.Equal(nextTask, after[3].GetProperty("id").GetString());
    }

    private static async Task KeepsHistoryAcrossAsync(Func<NodeProcess, Task> down)
    {
        await using var node = await NodeProcess.StartAsync("single", FastModel);
        var user = new ChatUser();
        using var api = user.On(node.BaseAddress);
        var first = await api.CreateConversationAsync();
        var second = await api.CreateConversationAsync();
        foreach (var (id, text) in new[] { (first, "first question"), (second, "second question"), (first, "third question") })
        {
            using var response = await api.SendAsync(id, text);
            Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
        }

        var listBefore = await api.GetJsonAsync("api/conversations");
        var firstBefore = (await api.GetConversationAsync(first)).GetProperty("messages").ToString();
        var secondBefore = (await api.GetConversationAsync(second)).GetProperty("messages").ToString();

        await down(node);
        Assert.False(node.IsRunning);
        await node.RestartAsync();

        // The same cookie is the same user after the restart (the Data Protection keys are in the database).
        using var after = user.On(node.BaseAddress);
        var listAfter = await after.GetJsonAsync("api/conversations");
        Assert.Equal(
            listBefore.EnumerateArray().Select(c => c.GetProperty("id").GetString()).Order(),
            listAfter.EnumerateArray().Select(c => c.GetProperty("id").GetString()).Order());
        Assert.Equal(2, listAfter.GetArrayLength());
        var firstAfter = await after.GetConversationAsync(first);
        Assert.Equal(firstBefore, firstAfter.GetProperty("messages").ToString());
        Assert.Equal(secondBefore, (await after.GetConversationAsync(second)).GetProperty("messages").ToString());
        Assert.Equal(4, firstAfter.GetProperty("messages").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, firstAfter.GetProperty("activeTask").ValueKind);

        // Another user still sees nothing of it.
        using var stranger = new ChatUser().On(node.BaseAddress);
        Assert.Equal(0, (await stranger.GetJsonAsync("api/conversations")).GetArrayLength());

        // And the conversation goes on where it was.
        using var next = await after.SendAsync(first, "fourth question");
        var stream = await StreamResult.ReadAsync(next);
        Assert.Equal("completed", stream.Status);
        var messages = (await after.GetConversationAsync(first)).GetProperty("messages");
        Assert.Equal(6, messages.GetArrayLength());
        Assert.Equal("fourth question", messages[4].GetProperty("content").GetString());
        Assert.Equal(stream.Text, messages[5].GetProperty("content").GetString());
    }
}
