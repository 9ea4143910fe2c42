using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Core.Generation;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using ChatPortal.Tests.Redis;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.OpenAI;

/// <summary>
/// Several models (<c>Model:Models</c>) against a real OpenAI-compatible streaming server on loopback: usage as the
/// server reports it, a model switched mid-conversation, a conversation far longer than the model's window, the daily
/// token quota, model-written titles.
/// </summary>
public sealed class ModelsAndUsageTests : IAsyncLifetime
{
    private FakeOpenAIServer _model = null!;

    public async Task InitializeAsync()
    {
        _model = await FakeOpenAIServer.StartAsync();
        _model.Interval = TimeSpan.FromMilliseconds(5);
    }

    public async Task DisposeAsync() => await _model.DisposeAsync();

    /// <summary>Two models on the fake server (ids <c>model-a</c>, the default, and <c>model-b</c>), and what the test adds.</summary>
    private Dictionary<string, string?> Settings(int contextWindow = 16_384, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ChatPortal:Model:Models:0:Id"] = "model-a",
            ["ChatPortal:Model:Models:0:DisplayName"] = "Model A",
            ["ChatPortal:Model:Models:0:Endpoint"] = _model.Endpoint,
            ["ChatPortal:Model:Models:0:ApiKey"] = "sk-test",
            ["ChatPortal:Model:Models:0:ContextWindow"] = contextWindow.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ChatPortal:Model:Models:1:Id"] = "model-b",
            ["ChatPortal:Model:Models:1:DisplayName"] = "Model B",
            ["ChatPortal:Model:Models:1:Endpoint"] = _model.Endpoint,
            ["ChatPortal:Model:Models:1:ModelId"] = "provider-name-of-b",
            ["ChatPortal:Model:Models:1:ContextWindow"] = "32768",
            ["ChatPortal:Model:SystemPrompt"] = "You are a test assistant.",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    [Fact]
    public async Task TheModelsAreListedWithoutTheirEndpointsOrKeys()
    {
        using var node = new ChatPortalNode("node-models", Settings());
        using var api = node.ClientFor(new ChatUser());

        var models = await api.GetJsonAsync("api/models");

        Assert.Equal(["model-a", "model-b"], models.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["Model A", "Model B"], models.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.Equal([true, false], models.EnumerateArray().Select(m => m.GetProperty("default").GetBoolean()));
        Assert.Equal(16_384, models[0].GetProperty("contextWindow").GetInt32());
        var raw = models.GetRawText();
        Assert.DoesNotContain("sk-test", raw);
        Assert.DoesNotContain(_model.Endpoint, raw);
    }

    [Fact]
    public async Task TheUsageTheServerReportsIsStoredAndShownWithTheAnswer()
    {
        _model.Words = 25;
        using var node = new ChatPortalNode("node-usage", Settings());
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, "How many tokens is this?");
        var stream = await StreamResult.ReadAsync(response);

        Assert.Equal("completed", stream.Status);
        var request = Assert.Single(_model.Requests);
        Assert.True(request.GetProperty("stream_options").GetProperty("include_usage").GetBoolean(), "the client asks the server for usage");
        var (input, output) = Assert.Single(_model.ReportedUsage);
        Assert.Equal(25, output);
        var answer = await LastMessageAsync(api, id);
        Assert.Equal("model-a", answer.GetProperty("model").GetString());
        var usage = answer.GetProperty("usage");
        Assert.Equal(input, usage.GetProperty("inputTokens").GetInt32());
        Assert.Equal(output, usage.GetProperty("outputTokens").GetInt32());
        Assert.False(usage.GetProperty("estimated").GetBoolean());
        Assert.True(usage.GetProperty("firstTokenMs").GetInt32() >= 0);
        Assert.True(usage.GetProperty("tokensPerSecond").GetDouble() > 0);
    }

    [Fact]
    public async Task WithoutAReportTheUsageIsEstimatedAndSaysSo()
    {
        _model.Words = 25;
        _model.ReportUsage = false;
        using var node = new ChatPortalNode("node-estimate", Settings());
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        using var response = await api.SendAsync(id, "Will you tell me your usage?");
        await StreamResult.ReadAsync(response);

        Assert.Empty(_model.ReportedUsage);
        var usage = (await LastMessageAsync(api, id)).GetProperty("usage");
        Assert.True(usage.GetProperty("estimated").GetBoolean());
        Assert.Equal(TokenEstimator.Estimate(string.Concat(Enumerable.Range(0, 25).Select(FakeOpenAIServer.Word))), usage.GetProperty("outputTokens").GetInt32());
        Assert.True(usage.GetProperty("inputTokens").GetInt32() > 0);
    }

    [Fact]
    public async Task SwitchingModelInTheMiddleOfAConversationSendsTheRestToTheNewModelWithTheWholeHistory()
    {
        _model.Words = 6;
        using var node = new ChatPortalNode("node-switch", Settings());
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        Assert.Equal("model-a", (await api.GetConversationAsync(id)).GetProperty("model").GetString());

        await SendAndReadAsync(api, id, "first question");
        using (var patch = await api.Http.PatchAsJsonAsync($"api/conversations/{id}", new { model = "model-b" }))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            Assert.Equal("model-b", (await patch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
        }

        await SendAndReadAsync(api, id, "second question");

        // The body of a send may also choose the model: it becomes the conversation's.
        using (var third = await api.PostStreamAsync($"api/conversations/{id}/messages", JsonContent.Create(new { text = "third question", model = "model-a" })))
        {
            Assert.Equal("completed", (await StreamResult.ReadAsync(third)).Status);
        }

        var requests = _model.Requests.ToList();
        Assert.Equal(["model-a", "provider-name-of-b", "model-a"], requests.Select(r => r.GetProperty("model").GetString()));
        Assert.Equal(
            ["system", "user", "assistant", "user"],
            requests[1].GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        var conversation = await api.GetConversationAsync(id);
        Assert.Equal("model-a", conversation.GetProperty("model").GetString());
        var answers = conversation.GetProperty("messages").EnumerateArray().Where(m => m.GetProperty("role").GetString() == "assistant").ToList();
        Assert.Equal(["model-a", "model-b", "model-a"], answers.Select(a => a.GetProperty("model").GetString()));
        Assert.All(answers, a => Assert.Equal("completed", a.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task AnUnknownModelIsABadRequestThatChangesNothing()
    {
        using var node = new ChatPortalNode("node-unknown-model", Settings());
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        await AssertProblemAsync(await api.Http.PatchAsJsonAsync($"api/conversations/{id}", new { model = "gpt-9" }), HttpStatusCode.BadRequest, "gpt-9");
        await AssertProblemAsync(
            await api.PostStreamAsync($"api/conversations/{id}/messages", JsonContent.Create(new { text = "hi", model = "gpt-9" })),
            HttpStatusCode.BadRequest,
            "api/models");

        var conversation = await api.GetConversationAsync(id);
        Assert.Equal("model-a", conversation.GetProperty("model").GetString());
        Assert.Empty(conversation.GetProperty("messages").EnumerateArray());
        Assert.Empty(_model.Requests);
    }

    [Fact]
    public async Task AThreeHundredMessageConversationIsTrimmedToTheModelsWindowAndNeverFailsForItsLength()
    {
        // A 2,048-token model that refuses longer prompts, 40-word answers: the whole history passes its window after
        // about twenty turns. 150 questions and 150 answers later, every answer must still complete.
        const int window = 2048;
        _model.Words = 40;
        _model.Interval = TimeSpan.Zero;
        _model.ContextWindow = window;
        using var node = new ChatPortalNode("node-long", Settings(contextWindow: window, more: new()
        {
            ["ChatPortal:Limits:MessagesPerMinute"] = "100000",
            ["ChatPortal:Limits:MessagesPerMinutePerAddress"] = "100000",
        }));
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        const string instructions = "Answer like a pirate, and never forget these instructions.";
        (await api.Http.PatchAsJsonAsync($"api/conversations/{id}", new { instructions })).EnsureSuccessStatusCode();

        for (var turn = 0; turn < 150; turn++)
        {
            var status = await SendAndReadAsync(api, id, $"Question number {turn}: what happened in chapter {turn} of the long story we are writing together?");
            Assert.True(status == "completed", $"turn {turn} ended {status}");
        }

        var stored = (await api.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(300, stored.Count);
        Assert.All(stored, m => Assert.Equal("completed", m.GetProperty("status").GetString()));

        // The last request: the instructions, then the newest stretch of the history that fits, starting with a question.
        var sent = _model.Requests.Last().GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal("system", sent[0].GetProperty("role").GetString());
        Assert.Equal(instructions, FakeOpenAIServer.ContentOf(sent[0]));
        var history = sent.Skip(1).Select(m => (m.GetProperty("role").GetString(), FakeOpenAIServer.ContentOf(m))).ToList();
        var all = stored.Take(299).Select(m => (m.GetProperty("role").GetString(), m.GetProperty("content").GetString() ?? "")).ToList();
        Assert.InRange(history.Count, 10, 100);
        Assert.Equal("user", history[0].Item1);
        Assert.Equal(all[^history.Count..], history);

        // Fitted, not merely cut: within the model's prompt budget by ChatPortal's own count, and one more turn would not fit.
        var budget = window - window / 4;
        var used = TokenEstimator.PerMessage + TokenEstimator.Estimate(instructions) + history.Sum(m => TokenEstimator.PerMessage + TokenEstimator.Estimate(m.Item2));
        Assert.True(used <= budget, $"{used} tokens sent for a budget of {budget}");
        var withOneMoreTurn = used + all[^(history.Count + 2)..^history.Count].Sum(m => TokenEstimator.PerMessage + TokenEstimator.Estimate(m.Item2));
        Assert.True(withOneMoreTurn > budget, $"one more turn ({withOneMoreTurn} tokens) would still have fitted the budget of {budget}");
        Assert.True(FakeOpenAIServer.PromptTokens(_model.Requests.Last()) <= window);
    }

    [Fact]
    public async Task TheDailyQuotaReachedAnswers429WithTheReasonAndOtherUsersGoOn()
    {
        _model.Words = 60;
        using var node = new ChatPortalNode("node-quota", Settings(more: new() { ["ChatPortal:Limits:TokensPerUserPerDay"] = "60" }));
        using var heavy = node.ClientFor(new ChatUser());
        using var other = node.ClientFor(new ChatUser());
        var id = await heavy.CreateConversationAsync();

        Assert.Equal("completed", await SendAndReadAsync(heavy, id, "Use up my quota, please"));
        var (input, output) = Assert.Single(_model.ReportedUsage);
        Assert.True(input + output >= 60, "the first answer used the whole quota");

        using var refused = await heavy.SendAsync(id, "One more?");
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        await AssertProblemAsync(refused, HttpStatusCode.TooManyRequests,
            $"You have used {(input + output).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} of your 60 tokens for today");
        Assert.Single(_model.Requests);
        var messages = (await heavy.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count); // the refused question was not stored

        var otherId = await other.CreateConversationAsync();
        Assert.Equal("completed", await SendAndReadAsync(other, otherId, "Is my own quota untouched?"));
    }

    [Fact]
    public async Task TheQuotaHoldsOnEveryNodeOfACluster()
    {
        _model.Words = 60;
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(more: new() { ["ChatPortal:Limits:TokensPerUserPerDay"] = "60" });
        foreach (var (key, value) in await ChatPortalNode.ClusterSettingsAsync(redis))
        {
            settings[key] = value;
        }

        using var a = new ChatPortalNode("node-a", settings);
        using var b = new ChatPortalNode("node-b", settings);
        var user = new ChatUser();
        using var onA = a.ClientFor(user);
        using var onB = b.ClientFor(user);
        var id = await onA.CreateConversationAsync();

        Assert.Equal("completed", await SendAndReadAsync(onA, id, "Spend it on node A"));

        using var refused = await onB.SendAsync(id, "And again on node B");
        await AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "tokens for today");
        var usage = (await LastMessageAsync(onB, id)).GetProperty("usage");
        var (input, output) = Assert.Single(_model.ReportedUsage);
        Assert.Equal((input, output), (usage.GetProperty("inputTokens").GetInt32(), usage.GetProperty("outputTokens").GetInt32()));
    }

    [Fact]
    public async Task TheAdminSeesUsageByUserAndByModelWithStopsAndFailures()
    {
        _model.Words = 20;
        using var node = new ChatPortalNode("node-admin-usage", Settings(more: new() { ["ChatPortal:Limits:TokensPerUserPerDay"] = "100000" }));
        var (alice, bob) = (new ChatUser(), new ChatUser());
        using var asAlice = node.ClientFor(alice);
        using var asBob = node.ClientFor(bob);
        var aliceChat = await asAlice.CreateConversationAsync();
        var bobChat = await asBob.CreateConversationAsync();

        // Alice: one answer completed, one stopped. Bob, on model B: one completed, one failed.
        await SendAndReadAsync(asAlice, aliceChat, "first");
        _model.Words = 5000;
        _model.Interval = TimeSpan.FromMilliseconds(10);
        using (var long_ = await asAlice.SendAsync(aliceChat, "talk until I stop you"))
        {
            string? taskId = null;
            var deltas = 0;
            await StreamResult.ReadAsync(long_, async item =>
            {
                taskId ??= item.Get("taskId");
                if (item.Name == "delta" && ++deltas == 3)
                {
                    await asAlice.CancelAsync(taskId!);
                }
            });
        }

        _model.Words = 20;
        _model.Interval = TimeSpan.FromMilliseconds(5);
        (await asBob.Http.PatchAsJsonAsync($"api/conversations/{bobChat}", new { model = "model-b" })).EnsureSuccessStatusCode();
        await SendAndReadAsync(asBob, bobChat, "hello");
        _model.Mode = FakeOpenAIServer.Behaviour.Error500;
        Assert.Equal("failed", await SendAndReadAsync(asBob, bobChat, "this one fails"));

        using var admin = new HttpClient { BaseAddress = node.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"admin:{NodeProcess.AdminPassword}")));
        var usage = await admin.GetFromJsonAsync<JsonElement>("api/admin/usage?range=today");

        Assert.Equal("today", usage.GetProperty("range").GetString());
        Assert.Equal(100_000, usage.GetProperty("tokensPerUserPerDay").GetInt64());
        var aliceTokens = await StoredTokensAsync(asAlice, aliceChat);
        var bobTokens = await StoredTokensAsync(asBob, bobChat);
        var users = usage.GetProperty("users").EnumerateArray().ToList();
        Assert.Equal(2, users.Count);
        var aliceRow = users.Single(u => u.GetProperty("totals").GetProperty("stopped").GetInt32() == 1);
        var bobRow = users.Single(u => u.GetProperty("totals").GetProperty("failed").GetInt32() == 1);
        Assert.Equal((2, aliceTokens, aliceTokens), (aliceRow.GetProperty("totals").GetProperty("answers").GetInt32(), aliceRow.GetProperty("totals").GetProperty("tokens").GetInt64(), aliceRow.GetProperty("tokensToday").GetInt64()));
        Assert.Equal((2, bobTokens), (bobRow.GetProperty("totals").GetProperty("answers").GetInt32(), bobRow.GetProperty("totals").GetProperty("tokens").GetInt64()));
        var models = usage.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("modelId").GetString()!);
        Assert.Equal(("Model A", aliceTokens, 1), (models["model-a"].GetProperty("name").GetString(), models["model-a"].GetProperty("totals").GetProperty("tokens").GetInt64(), models["model-a"].GetProperty("totals").GetProperty("stopped").GetInt32()));
        Assert.Equal(("Model B", bobTokens, 1), (models["model-b"].GetProperty("name").GetString(), models["model-b"].GetProperty("totals").GetProperty("tokens").GetInt64(), models["model-b"].GetProperty("totals").GetProperty("failed").GetInt32()));
        Assert.Equal(aliceTokens + bobTokens, usage.GetProperty("totals").GetProperty("tokens").GetInt64());
        Assert.Equal(4, usage.GetProperty("totals").GetProperty("answers").GetInt32());
        Assert.Equal(aliceTokens + bobTokens, usage.GetProperty("days").EnumerateArray().Sum(d => d.GetProperty("tokens").GetInt64()));

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("api/admin/usage?range=30d")).StatusCode);
        await AssertProblemAsync(await admin.GetAsync("api/admin/usage?range=forever"), HttpStatusCode.BadRequest, "today, 7d or 30d");
    }

    /// <summary>The tokens of a conversation's answers, as stored with them.</summary>
    private static async Task<long> StoredTokensAsync(ChatApiClient api, string id) =>
        (await api.GetConversationAsync(id)).GetProperty("messages").EnumerateArray()
            .Where(m => m.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            .Sum(m => (long)m.GetProperty("usage").GetProperty("inputTokens").GetInt32() + m.GetProperty("usage").GetProperty("outputTokens").GetInt32());

    [Fact]
    public async Task TheModelNamesTheConversationAfterItsFirstAnswer()
    {
        _model.Words = 8;
        _model.CompletionText = "Title: \"Cancelling streams across nodes.\"";
        using var node = new ChatPortalNode("node-title", Settings());
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        await SendAndReadAsync(api, id, "how do I cancel a stream that another node is writing");

        await Cluster.EventuallyAsync(
            async () => (await api.GetConversationAsync(id)).GetProperty("title").GetString() == "Cancelling streams across nodes",
            TimeSpan.FromSeconds(10),
            "the model's title replaced the question's first words");
        var titleRequest = Assert.Single(_model.NonStreamingRequests);
        Assert.Equal("model-a", titleRequest.GetProperty("model").GetString());
        Assert.Contains("how do I cancel a stream", titleRequest.GetProperty("messages")[1].GetProperty("content").GetString());

        // Only the first answer names the conversation.
        await SendAndReadAsync(api, id, "and a second question");
        await Task.Delay(300);
        Assert.Single(_model.NonStreamingRequests);
    }

    [Fact]
    public async Task WhenTheTitleRequestFailsTheQuestionsFirstWordsStay()
    {
        _model.Words = 8;
        _model.CompletionText = null; // the title request answers 500
        using var node = new ChatPortalNode("node-title-fails", Settings());
        using var api = node.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        await SendAndReadAsync(api, id, "what happens when the title cannot be written");

        await Cluster.EventuallyAsync(() => Task.FromResult(!_model.NonStreamingRequests.IsEmpty), TimeSpan.FromSeconds(10), "a title was asked for");
        await Task.Delay(300);
        Assert.Equal("what happens when the title cannot be written", (await api.GetConversationAsync(id)).GetProperty("title").GetString());
    }

    private static async Task<string?> SendAndReadAsync(ChatApiClient api, string id, string text)
    {
        using var response = await api.SendAsync(id, text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await StreamResult.ReadAsync(response)).Status;
    }
}
