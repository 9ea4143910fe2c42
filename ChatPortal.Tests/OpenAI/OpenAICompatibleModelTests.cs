using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using ChatPortal.Tests.Redis;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.OpenAI;

/// <summary>Model:Provider=OpenAI against a real OpenAI-compatible streaming server on loopback.</summary>
public sealed class OpenAICompatibleModelTests : IAsyncLifetime
{
    private FakeOpenAIServer _model = null!;

    public async Task InitializeAsync() => _model = await FakeOpenAIServer.StartAsync();

    public async Task DisposeAsync() => await _model.DisposeAsync();

    private Dictionary<string, string?> ModelSettings(string endpoint) => new()
    {
        ["ChatPortal:Model:Provider"] = "OpenAI",
        ["ChatPortal:Model:OpenAI:Endpoint"] = endpoint,
        ["ChatPortal:Model:OpenAI:ApiKey"] = "sk-test",
        ["ChatPortal:Model:OpenAI:ModelId"] = "test-model",
        ["ChatPortal:Model:SystemPrompt"] = "You are a test assistant.",
    };

    [Fact]
    public async Task AnAnswerStreamsTokenByTokenWithTheSystemPromptAndTheHistorySent()
    {
        _model.Words = 12;
        using var node = new ChatPortalNode("node-openai", ModelSettings(_model.Endpoint));
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var first = await api.SendAsync(id, "first question");
        var answer = await StreamResult.ReadAsync(first);
        using var second = await api.SendAsync(id, "second question");
        await StreamResult.ReadAsync(second);

        var expected = string.Concat(Enumerable.Range(0, 12).Select(FakeOpenAIServer.Word));
        Assert.Equal("completed", answer.Status);
        Assert.Equal(expected, answer.Text);
        Assert.Equal(12, answer.Events.Count(e => e.Name == "delta"));
        var request = _model.Requests.Last();
        Assert.True(request.GetProperty("stream").GetBoolean());
        Assert.Equal("test-model", request.GetProperty("model").GetString());
        var messages = request.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString(), Content(m))).ToList();
        Assert.Equal(
            [("system", "You are a test assistant."), ("user", "first question"), ("assistant", expected), ("user", "second question")],
            messages);
    }

    [Fact]
    public async Task AStopFromAnotherNodeClosesTheUpstreamConnection()
    {
        _model.Words = 2000;
        _model.Interval = TimeSpan.FromMilliseconds(10);
        await using var redis = await RedisServer.StartAsync();
        var cluster = new Dictionary<string, string?>(ModelSettings(_model.Endpoint));
        foreach (var (key, value) in await ChatPortalNode.ClusterSettingsAsync(redis))
        {
            cluster[key] = value;
        }

        using var a = new ChatPortalNode("node-a", cluster);
        using var b = new ChatPortalNode("node-b", cluster);
        var user = new ChatUser();
        using var onA = a.ClientFor(user);
        using var onB = b.ClientFor(user);
        var id = await onA.CreateConversationAsync();
        using var response = await onA.SendAsync(id, "talk for a long time");

        var deltas = 0;
        string? taskId = null;
        HttpResponseMessage? cancel = null;
        var stream = await StreamResult.ReadAsync(response, async item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 10)
            {
                cancel = await onB.CancelAsync(taskId!);
            }
        });

        Assert.Equal(HttpStatusCode.OK, cancel!.StatusCode);
        Assert.Equal("cancelled", stream.Status);
        await Cluster.EventuallyAsync(() => Task.FromResult(!_model.Completions.IsEmpty), TimeSpan.FromSeconds(5), "the model server saw the request end");
        var completion = Assert.Single(_model.Completions);
        Assert.True(completion.AbortedByClient, "the upstream request was aborted, not finished");
        Assert.InRange(completion.ChunksWritten, 10, 200);
        var stored = await LastMessageAsync(onB, id);
        Assert.Equal(stream.Text, stored.GetProperty("content").GetString());
        Assert.Equal("cancelled", stored.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AServerErrorEndsTheAnswerAsFailedWithAReadableReason()
    {
        _model.Mode = FakeOpenAIServer.Behaviour.Error500;
        using var node = new ChatPortalNode("node-openai-500", ModelSettings(_model.Endpoint));
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, "this will fail");
        var stream = await StreamResult.ReadAsync(response);

        Assert.Equal("failed", stream.Status);
        Assert.Contains("500", stream.Reason);
        Assert.Single(_model.Requests); // no silent retries
        var stored = await LastMessageAsync(api, id);
        Assert.Equal("failed", stored.GetProperty("status").GetString());
        Assert.Contains("500", stored.GetProperty("error").GetString());
    }

    [Fact]
    public async Task AMidStreamDisconnectEndsAsFailedAndKeepsThePartialText()
    {
        _model.Mode = FakeOpenAIServer.Behaviour.DisconnectMidStream;
        _model.ChunksBeforeDisconnect = 5;
        using var node = new ChatPortalNode("node-openai-cut", ModelSettings(_model.Endpoint));
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, "you will be cut off");
        var stream = await StreamResult.ReadAsync(response);

        Assert.Equal("failed", stream.Status);
        Assert.Equal(string.Concat(Enumerable.Range(0, 5).Select(FakeOpenAIServer.Word)), stream.Text);
        Assert.Contains("closed the connection", stream.Reason);
        var stored = await LastMessageAsync(api, id);
        Assert.Equal("failed", stored.GetProperty("status").GetString());
        Assert.Equal(stream.Text, stored.GetProperty("content").GetString());
    }

    [Fact]
    public async Task AnUnreachableEndpointFailsAtOnceWithAReadableReason()
    {
        using var node = new ChatPortalNode("node-openai-down", ModelSettings($"http://127.0.0.1:{FreePort.Next()}/v1"));
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, "anyone there?");
        var stream = await StreamResult.ReadAsync(response);

        Assert.Equal("failed", stream.Status);
        Assert.Contains("could not be reached", stream.Reason);
    }

    private static string? Content(JsonElement message) =>
        message.GetProperty("content") is { ValueKind: JsonValueKind.String } text
            ? text.GetString()
            : string.Concat(message.GetProperty("content").EnumerateArray().Select(p => p.GetProperty("text").GetString()));
}
