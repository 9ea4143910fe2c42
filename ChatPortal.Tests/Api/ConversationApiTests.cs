using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Api;

/// <summary>The HTTP API of docs/API.md on one node (the embedded default: SQLite), over a real Kestrel port.</summary>
public sealed class ConversationApiTests : IClassFixture<ConversationApiTests.Node>
{
    private readonly Node _node;

    public ConversationApiTests(Node node) => _node = node;

    public sealed class Node() : IDisposable
    {
        // Titles stay the question's first words here (the model's titles are tested in ModelsAndUsageTests).
        public ChatPortalNode Server { get; } = new("node-api", new Dictionary<string, string?>
        {
            ["ChatPortal:Limits:MaxMessageChars"] = "200",
            ["ChatPortal:Model:GenerateTitles"] = "false",
        });

        public void Dispose() => Server.Dispose();
    }

    private ChatApiClient NewUser() => _node.Server.ClientFor(new ChatUser());

    [Fact]
    public async Task TheStreamIsTaskThenDeltasThenDoneAndTheStoredAnswerEqualsTheStreamedText()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, "Explain streaming");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var stream = await StreamResult.ReadAsync(response);

        Assert.Equal("task", stream.Events[0].Name);
        Assert.Equal("node-api", stream.Node);
        Assert.StartsWith(id + "-", stream.TaskId);
        Assert.True(stream.Events.Count(e => e.Name == "delta") > 10);
        Assert.Equal("done", stream.Events[^1].Name);
        Assert.Equal("completed", stream.Status);

        var conversation = await api.GetConversationAsync(id);
        var messages = conversation.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count);
        Assert.Equal("user", messages[0].GetProperty("role").GetString());
        Assert.Equal("Explain streaming", messages[0].GetProperty("content").GetString());
        Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
        Assert.Equal(stream.TaskId, messages[1].GetProperty("id").GetString());
        Assert.Equal("completed", messages[1].GetProperty("status").GetString());
        Assert.Equal(stream.Text, messages[1].GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, conversation.GetProperty("activeTask").ValueKind);
    }

    [Fact]
    public async Task ConversationsAreListedNewestFirstAndTitledByTheirFirstMessage()
    {
        using var api = NewUser();
        var first = await api.CreateConversationAsync();
        var second = await api.CreateConversationAsync();
        using (var response = await api.SendAsync(first, "What is Redis pub/sub?"))
        {
            await StreamResult.ReadAsync(response);
        }

        var list = (await api.GetJsonAsync("api/conversations")).EnumerateArray().ToList();
        Assert.Equal([first, second], list.Select(c => c.GetProperty("id").GetString()));
        Assert.Equal("What is Redis pub/sub?", list[0].GetProperty("title").GetString());
        Assert.True(list[0].TryGetProperty("updatedAt", out _));
    }

    [Theory]
    [InlineData("{\"text\":\"\"}", "empty")]
    [InlineData("{\"text\":\"   \\n\\t \"}", "empty")]
    [InlineData("{\"text\": 42}", "string property")]
    [InlineData("{}", "string property")]
    [InlineData("[\"hello\"]", "string property")]
    [InlineData("{\"text\": \"unterminated", "JSON")]
    [InlineData("not json at all", "JSON")]
    [InlineData("", "JSON")]
    public async Task BadMessageBodiesAre400ProblemsAndStoreNothing(string body, string detailMentions)
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();

        using var response = await api.PostStreamAsync($"api/conversations/{id}/messages", new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, detailMentions);
        Assert.Empty((await api.GetConversationAsync(id)).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task APatchSetsInstructionsAndModelAndRefusesBadValuesWithoutChangingAnything()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();
        async Task<HttpResponseMessage> PatchAsync(string json) =>
            await api.Http.PatchAsync($"api/conversations/{id}", new StringContent(json, Encoding.UTF8, "application/json"));

        var set = await PatchAsync("""{"instructions": "  Be terse.  ", "model": "simulated"}""");
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var body = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("Be terse.", "simulated", "New chat"), (body.GetProperty("instructions").GetString(), body.GetProperty("model").GetString(), body.GetProperty("title").GetString()));

        await AssertProblemAsync(await PatchAsync("{}"), HttpStatusCode.BadRequest, "at least one");
        await AssertProblemAsync(await PatchAsync("""{"instructions": 5}"""), HttpStatusCode.BadRequest, "string");
        await AssertProblemAsync(await PatchAsync($$"""{"instructions": "{{new string('i', 8001)}}"}"""), HttpStatusCode.BadRequest, "8000 characters");
        await AssertProblemAsync(await PatchAsync("""{"model": "gpt-9", "title": "renamed"}"""), HttpStatusCode.BadRequest, "gpt-9");
        await AssertProblemAsync(await PatchAsync("""{"title": "", "instructions": "changed"}"""), HttpStatusCode.BadRequest, "empty");
        var unchanged = await api.GetConversationAsync(id);
        Assert.Equal(("Be terse.", "New chat"), (unchanged.GetProperty("instructions").GetString(), unchanged.GetProperty("title").GetString()));

        Assert.Equal(HttpStatusCode.OK, (await PatchAsync("""{"instructions": null}""")).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await api.GetConversationAsync(id)).GetProperty("instructions").ValueKind);
        using var stranger = NewUser();
        await AssertProblemAsync(await stranger.Http.PatchAsync($"api/conversations/{id}", new StringContent("""{"instructions": "mine now"}""", Encoding.UTF8, "application/json")),
            HttpStatusCode.NotFound, null);
    }

    [Fact]
    public async Task AMessageLongerThanMaxMessageCharsIs413AndStoresNothing()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, new string('x', 201));

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "200 characters");
        Assert.Empty((await api.GetConversationAsync(id)).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task AHugeBodyIs413WithoutBeingRead()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, new string('y', 500_000));

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "longer than");
    }

    [Fact]
    public async Task AMessageOfExactlyMaxMessageCharsIsAccepted()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, new string('z', 200));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
    }

    [Fact]
    public async Task UnknownConversationsAre404Everywhere()
    {
        using var api = NewUser();
        const string unknown = "0123456789abcdef01234567";

        await AssertProblemAsync(await api.Http.GetAsync($"api/conversations/{unknown}"), HttpStatusCode.NotFound, "not yours");
        await AssertProblemAsync(await api.SendAsync(unknown, "hello"), HttpStatusCode.NotFound, "not yours");
        await AssertProblemAsync(await api.Http.DeleteAsync($"api/conversations/{unknown}/messages"), HttpStatusCode.NotFound, "not yours");
        await AssertProblemAsync(await api.Http.GetAsync("api/conversations/..%2F..%2Fetc"), HttpStatusCode.NotFound, null);
    }

    [Fact]
    public async Task AnotherUsersConversationIs404AndUntouched()
    {
        using var owner = NewUser();
        using var stranger = NewUser();
        var id = await owner.CreateConversationAsync();
        using (var response = await owner.SendAsync(id, "mine"))
        {
            await StreamResult.ReadAsync(response);
        }

        await AssertProblemAsync(await stranger.Http.GetAsync($"api/conversations/{id}"), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await stranger.SendAsync(id, "hijack"), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await stranger.Http.DeleteAsync($"api/conversations/{id}/messages"), HttpStatusCode.NotFound, null);
        Assert.DoesNotContain((await stranger.GetJsonAsync("api/conversations")).EnumerateArray(), c => c.GetProperty("id").GetString() == id);
        Assert.Equal(2, (await owner.GetConversationAsync(id)).GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ASecondMessageWhileAnAnswerRunsIs409AndTheRunningTaskIsShown()
    {
        using var slow = new ChatPortalNode("node-slow", new Dictionary<string, string?> { ["ChatPortal:Model:Simulated:TokensPerSecond"] = "20" });
        using var api = slow.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var first = await api.SendAsync(id, "first");
        var taskId = await ReadTaskIdAsync(first);
        using var second = await api.SendAsync(id, "second");

        await AssertProblemAsync(second, HttpStatusCode.Conflict, "already");
        var conversation = await api.GetConversationAsync(id);
        Assert.Equal(taskId, conversation.GetProperty("activeTask").GetProperty("taskId").GetString());
        Assert.Equal("node-slow", conversation.GetProperty("activeTask").GetProperty("node").GetString());
        var last = conversation.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal("streaming", last.GetProperty("status").GetString());
        Assert.DoesNotContain(conversation.GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString() == "second");

        await AssertProblemAsync(await api.Http.DeleteAsync($"api/conversations/{id}/messages"), HttpStatusCode.Conflict, "stop it");
        Assert.Equal(HttpStatusCode.OK, (await api.CancelAsync(taskId)).StatusCode);
    }

    [Fact]
    public async Task ClearingTheHistoryIs204AndEmptiesIt()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();
        using (var response = await api.SendAsync(id, "remember me"))
        {
            await StreamResult.ReadAsync(response);
        }

        var clear = await api.Http.DeleteAsync($"api/conversations/{id}/messages");

        Assert.Equal(HttpStatusCode.NoContent, clear.StatusCode);
        Assert.Empty((await api.GetConversationAsync(id)).GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task ClosingTheStreamDoesNotCancelTheGeneration()
    {
        using var api = NewUser();
        var id = await api.CreateConversationAsync();
        string taskId;
        using (var response = await api.SendAsync(id, "keep going without me"))
        {
            taskId = await ReadTaskIdAsync(response);
        }

        var status = await WaitForTaskEndAsync(api, taskId);

        Assert.Equal("completed", status.GetProperty("status").GetString());
        Assert.Equal(60, status.GetProperty("tokens").GetInt32());
        var answer = await LastMessageAsync(api, id);
        Assert.Equal("completed", answer.GetProperty("status").GetString());
    }

    [Fact]
    public async Task TheIdentityCookieIsHttpOnlyAndSameSiteLax()
    {
        using var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };

        var response = await http.GetAsync("api/conversations");

        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatportal_id=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task HealthReadinessAndMetricsAreServed()
    {
        using var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
        var ready = await http.GetFromJsonAsync<JsonElement>("readyz");
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());

        using var api = NewUser();
        var id = await api.CreateConversationAsync();
        using (var response = await api.SendAsync(id, "count me"))
        {
            await StreamResult.ReadAsync(response);
        }

        var metrics = await http.GetStringAsync("metrics");
        Assert.Contains("chatportal_answers_total", metrics);
        Assert.Contains("chatportal_tokens_total", metrics);
        Assert.Contains("chatportal_tasks_active", metrics);
    }

    internal static async Task<string> ReadTaskIdAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        await foreach (var item in Sse.ReadAsync(stream))
        {
            Assert.Equal("task", item.Name);
            return item.Get("taskId")!;
        }

        throw new InvalidOperationException("The stream ended before its task event.");
    }

    internal static async Task<JsonElement> WaitForTaskEndAsync(ChatApiClient api, string taskId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var task = await api.GetJsonAsync($"api/tasks/{taskId}");
            if (task.GetProperty("status").GetString() != "running" || DateTime.UtcNow > deadline)
            {
                return task;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A cancel answered 200 with the final state <paramref name="status"/>.</summary>
    internal static async Task AssertStoppedAsync(HttpResponseMessage cancel, string status = "cancelled")
    {
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(status, (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    /// <summary>
    /// An answer that ran while its user signed in, then stopped through the account on the node that runs it: the
    /// running task still carries the anonymous id, yet the first request stops it (200 cancelled, once the database
    /// confirmed whose conversation it is now), the stream ends cancelled and the stored answer is what was streamed.
    /// </summary>
    internal static async Task AssertStoppedAfterSignInAsync(ChatApiClient api, string conversationId, HttpResponseMessage cancel, Task<StreamResult> reading)
    {
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        var streamed = await reading;
        Assert.Equal("cancelled", streamed.Status);
        var stored = await LastMessageAsync(api, conversationId);
        Assert.Equal("cancelled", stored.GetProperty("status").GetString());
        Assert.Equal(streamed.Text, stored.GetProperty("content").GetString());
    }

    /// <summary>The newest message of a conversation, as the node behind <paramref name="api"/> stores it.</summary>
    internal static async Task<JsonElement> LastMessageAsync(ChatApiClient api, string conversationId) =>
        (await api.GetConversationAsync(conversationId)).GetProperty("messages").EnumerateArray().Last();

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? detailMentions)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        if (detailMentions is not null)
        {
            Assert.Contains(detailMentions, problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task EveryMetricTheAlertRulesUseIsExported()
    {
        // Its own process: in-process test hosts share one MeterListener, so their instruments mix.
        await using var node = await NodeProcess.StartAsync("node-metrics");
        using var api = new ChatUser().On(node.BaseAddress);
        var id = await api.CreateConversationAsync();
        using (var response = await api.SendAsync(id, "feed the metrics"))
        {
            var taskId = await ReadTaskIdAsync(response);
            await api.CancelAsync(taskId);
        }

        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        var metrics = await http.GetStringAsync("metrics");
        var rules = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "deploy", "prometheus", "chatportal-alerts.yml"));
        var used = System.Text.RegularExpressions.Regex.Matches(rules, @"chatportal_[a-z_]+").Select(m => m.Value).Distinct().ToList();

        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.Contains(name, metrics));
    }
}
