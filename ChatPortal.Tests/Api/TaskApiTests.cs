using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Api;

/// <summary>Task state, follow and cancel through the HTTP API on one node.</summary>
public sealed class TaskApiTests : IClassFixture<TaskApiTests.Node>
{
    private readonly Node _node;

    public TaskApiTests(Node node) => _node = node;

    /// <summary>A slow model, so an answer is still running when the test acts on it.</summary>
    public sealed class Node : IDisposable
    {
        public ChatPortalNode Server { get; } = new("node-tasks", new Dictionary<string, string?>
        {
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "40",
            ["ChatPortal:Model:Simulated:ResponseTokens"] = "400",
        });

        public void Dispose() => Server.Dispose();
    }

    private ChatApiClient NewUser(out ChatUser user)
    {
        user = new ChatUser();
        return _node.Server.ClientFor(user);
    }

    [Fact]
    public async Task CancelAnswers200CancelledAndTheStoredPartialEqualsTheStreamedText()
    {
        using var api = NewUser(out _);
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "a long answer please");

        var deltas = 0;
        string? taskId = null;
        Task<HttpResponseMessage>? cancel = null;
        var stream = await StreamResult.ReadAsync(response, item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 5)
            {
                cancel = api.CancelAsync(taskId!);
            }

            return Task.CompletedTask;
        });

        var cancelResponse = await cancel!;
        Assert.Equal(HttpStatusCode.OK, cancelResponse.StatusCode);
        var body = await cancelResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(taskId, body.GetProperty("taskId").GetString());
        Assert.Equal("cancelled", body.GetProperty("status").GetString());
        Assert.Equal("node-tasks", body.GetProperty("ownerNode").GetString());

        Assert.Equal("cancelled", stream.Status);
        Assert.InRange(stream.Events.Count(e => e.Name == "delta"), 5, 399);
        var answer = await LastMessageAsync(api, id);
        Assert.Equal("cancelled", answer.GetProperty("status").GetString());
        Assert.Equal(stream.Text, answer.GetProperty("content").GetString());
    }

    [Fact]
    public async Task CancelBeforeTheFirstTokenStopsTheTask()
    {
        using var slowStart = new ChatPortalNode("node-first-token", new Dictionary<string, string?> { ["ChatPortal:Model:Simulated:FirstTokenDelayMs"] = "5000" });
        using var api = slowStart.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "think first");
        var taskId = await ReadTaskIdAsync(response);

        var cancel = await api.CancelAsync(taskId);

        await AssertStoppedAsync(cancel);
        var answer = await LastMessageAsync(api, id);
        Assert.Equal("cancelled", answer.GetProperty("status").GetString());
        Assert.Equal("", answer.GetProperty("content").GetString());
    }

    [Fact]
    public async Task ASecondCancelAnswersTheSameFinalState()
    {
        using var api = NewUser(out _);
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "stop twice");
        var taskId = await ReadTaskIdAsync(response);

        var first = await api.CancelAsync(taskId);
        var second = await api.CancelAsync(taskId);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await AssertStoppedAsync(second);
        Assert.Equal("cancelled", (await api.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task CancelOfAFinishedTaskAnswersCompleted()
    {
        using var fast = new ChatPortalNode("node-fast");
        using var api = fast.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "quick");
        var stream = await StreamResult.ReadAsync(response);

        var cancel = await api.CancelAsync(stream.TaskId!);

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var body = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("completed", body.GetProperty("status").GetString());
        Assert.Equal("node-fast", body.GetProperty("ownerNode").GetString());
    }

    [Fact]
    public async Task AnotherUserCannotSeeFollowOrCancelATask()
    {
        using var owner = NewUser(out _);
        using var stranger = NewUser(out _);
        var id = await owner.CreateConversationAsync();
        using var response = await owner.SendAsync(id, "private");
        var taskId = await ReadTaskIdAsync(response);

        await AssertProblemAsync(await stranger.CancelAsync(taskId), HttpStatusCode.NotFound, "not yours");
        await AssertProblemAsync(await stranger.Http.GetAsync($"api/tasks/{taskId}"), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await stranger.FollowAsync(taskId), HttpStatusCode.NotFound, null);
        Assert.Equal("running", (await owner.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());

        await owner.CancelAsync(taskId);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("0123456789abcdef01234567-deadbeef")]
    public async Task UnknownTasksAre404(string taskId)
    {
        using var api = NewUser(out _);

        await AssertProblemAsync(await api.CancelAsync(taskId), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await api.Http.GetAsync($"api/tasks/{taskId}"), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await api.FollowAsync(taskId), HttpStatusCode.NotFound, null);
    }

    [Fact]
    public async Task FollowingARunningTaskReplaysTheTextSoFarThenContinuesToTheEnd()
    {
        using var fast = new ChatPortalNode("node-follow", new Dictionary<string, string?> { ["ChatPortal:Model:Simulated:TokensPerSecond"] = "60" });
        using var api = fast.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "follow me");
        var original = StreamResult.ReadAsync(response);
        await Task.Delay(300); // let some text exist before the follower joins

        var taskId = (await api.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("taskId").GetString()!;
        using var follow = await api.FollowAsync(taskId);
        var followed = await StreamResult.ReadAsync(follow);
        var streamed = await original;

        Assert.Equal("delta", followed.Events[0].Name);
        Assert.True(followed.Events[0].Get("text")!.Length > 0, "the first delta carries the text so far");
        Assert.Equal("completed", followed.Status);
        Assert.Equal(streamed.Text, followed.Text);

        // Following an ended task gives the stored text and its final state.
        using var replay = await api.FollowAsync(taskId);
        var replayed = await StreamResult.ReadAsync(replay);
        Assert.Equal(streamed.Text, replayed.Text);
        Assert.Equal("completed", replayed.Status);
    }

    [Fact]
    public async Task TooManyMessagesAre429()
    {
        using var limited = new ChatPortalNode("node-limited", new Dictionary<string, string?> { ["ChatPortal:Limits:MessagesPerMinute"] = "2" });
        using var api = limited.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        for (var i = 0; i < 2; i++)
        {
            using var ok = await api.SendAsync(id, $"message {i}");
            await StreamResult.ReadAsync(ok);
        }

        using var limitedResponse = await api.SendAsync(id, "one too many");

        await AssertProblemAsync(limitedResponse, HttpStatusCode.TooManyRequests, "Too many");
        Assert.True(limitedResponse.Headers.RetryAfter is not null);
    }
}
