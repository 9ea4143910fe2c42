using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Redis;

/// <summary>Two real nodes sharing one real redis-server: everything works whichever node serves the request.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class CrossNodeTests(SharedCluster shared)
{
    private Cluster Cluster => shared.Cluster;

    [Fact]
    public async Task TheIdentityAndTheHistoryAreTheSameOnEveryNode()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();

        using var response = await b.SendAsync(id, "answer me on b");
        var stream = await StreamResult.ReadAsync(response);
        Assert.Equal("node-b", stream.Node);

        var onA = await a.GetConversationAsync(id);
        var onB = await b.GetConversationAsync(id);
        Assert.Equal(onA.GetProperty("messages").ToString(), onB.GetProperty("messages").ToString());
        Assert.Equal(stream.Text, onA.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.Contains((await a.GetJsonAsync("api/conversations")).EnumerateArray(), c => c.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task CancelFromAnotherNodeStopsTheGenerationOnTheFirstRequest()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "a long answer on node a");

        string? taskId = null;
        Task<HttpResponseMessage>? cancel = null;
        var deltas = 0;
        var stream = await StreamResult.ReadAsync(response, item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 8)
            {
                cancel = b.CancelAsync(taskId!);
            }

            return Task.CompletedTask;
        });

        var answer = await cancel!;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cancelled", body.GetProperty("status").GetString());
        Assert.Equal("node-a", body.GetProperty("ownerNode").GetString());
        Assert.Equal("cancelled", stream.Status);
        Assert.InRange(stream.Events.Count(e => e.Name == "delta"), 8, 299);

        foreach (var node in new[] { a, b })
        {
            var stored = await LastMessageAsync(node, id);
            Assert.Equal("cancelled", stored.GetProperty("status").GetString());
            Assert.Equal(stream.Text, stored.GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task CancelFromAnotherNodeBeforeTheFirstTokenStopsTheTask()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "stop before you start");
        var taskId = await ReadTaskIdAsync(response);

        var cancel = await b.CancelAsync(taskId);

        await AssertStoppedAsync(cancel);
        var stored = await LastMessageAsync(b, id);
        Assert.Equal("cancelled", stored.GetProperty("status").GetString());
        Assert.Equal("", stored.GetProperty("content").GetString());
    }

    [Fact]
    public async Task CancelIsIdempotentAndAFinishedTaskAnswersItsFinalStateFromAnyNode()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "cancel me twice");
        var taskId = await ReadTaskIdAsync(response);

        var first = await b.CancelAsync(taskId);
        var second = await a.CancelAsync(taskId);
        var third = await b.CancelAsync(taskId);

        foreach (var reply in new[] { first, second, third })
        {
            await AssertStoppedAsync(reply);
        }

        Assert.Equal("cancelled", (await b.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AnotherUsersCancelIs404OnEveryNode()
    {
        var owner = new ChatUser();
        using var a = owner.On(Cluster.A.BaseAddress);
        using var strangerOnB = new ChatUser().On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "mine only");
        var taskId = await ReadTaskIdAsync(response);

        await AssertProblemAsync(await strangerOnB.CancelAsync(taskId), HttpStatusCode.NotFound, null);
        await AssertProblemAsync(await strangerOnB.Http.GetAsync($"api/tasks/{taskId}"), HttpStatusCode.NotFound, null);

        Assert.Equal("running", (await a.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await owner.On(Cluster.B.BaseAddress).CancelAsync(taskId)).StatusCode);
    }

    [Fact]
    public async Task SendingOnTwoNodesAtOnceStartsOneAnswerAndTheOtherIs409()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();

        var responses = await Task.WhenAll(a.SendAsync(id, "from a"), b.SendAsync(id, "from b"));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        var conflict = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Conflict);
        await AssertProblemAsync(conflict, HttpStatusCode.Conflict, "already");
        var winner = responses.Single(r => r.StatusCode == HttpStatusCode.OK);
        var taskId = await ReadTaskIdAsync(winner);
        await (winner.RequestMessage!.RequestUri!.Port == Cluster.A.Port ? a : b).CancelAsync(taskId);

        var messages = (await a.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count);
        Assert.Single(messages, m => m.GetProperty("role").GetString() == "user");
        Assert.Single(messages, m => m.GetProperty("role").GetString() == "assistant");
    }

    [Fact]
    public async Task FollowingFromAnotherNodeReplaysTheTextSoFarThenContinuesLive()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "follow me from b");

        string? taskId = null;
        var followerStarted = new TaskCompletionSource<Task<StreamResult>>();
        var deltas = 0;
        var original = StreamResult.ReadAsync(response, item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 20)
            {
                followerStarted.SetResult(Task.Run(async () =>
                {
                    using var follow = await b.FollowAsync(taskId!);
                    Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
                    return await StreamResult.ReadAsync(follow);
                }));
            }

            return Task.CompletedTask;
        });

        var streamed = await original;
        var followed = await await followerStarted.Task;

        Assert.Equal("completed", streamed.Status);
        Assert.Equal("completed", followed.Status);
        Assert.Equal("delta", followed.Events[0].Name);
        Assert.True(followed.Events[0].Get("text")!.Length > 0, "the first delta carries the text so far");
        Assert.True(followed.Events.Count(e => e.Name == "delta") > 2, "live deltas follow the snapshot");
        Assert.Equal(streamed.Text, followed.Text);
        var stored = await LastMessageAsync(b, id);
        Assert.Equal(streamed.Text, stored.GetProperty("content").GetString());
    }

    [Fact]
    public async Task AnAnswerCausesNoRedisCommandPerChunk()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        var id = await a.CreateConversationAsync();

        // The nodes' own background (heartbeats, watchdog, janitor, dashboard sampler), measured while idle.
        var idleStart = await Cluster.Redis.CommandStatsAsync();
        var idleClock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(6));
        var idle = Total(await Cluster.Redis.CommandStatsAsync(), idleStart) / idleClock.Elapsed.TotalSeconds;

        var before = await Cluster.Redis.CommandStatsAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await a.SendAsync(id, "count the commands");
        var stream = await StreamResult.ReadAsync(response);
        var total = Total(await Cluster.Redis.CommandStatsAsync(), before);

        var chunks = stream.Events.Count(e => e.Name == "delta");
        var answerCommands = total - idle * clock.Elapsed.TotalSeconds;
        Assert.Equal(300, chunks);
        // A call per chunk (or per ten) would add 30 to 300 commands; the answer's own are about ten.
        Assert.True(answerCommands < 25, $"{answerCommands:0.0} Redis commands above the idle background for an answer of {chunks} chunks (idle {idle:0.0}/s)");
    }

    private static double Total(Dictionary<string, long> after, Dictionary<string, long> before) =>
        after.Sum(kv => kv.Value - before.GetValueOrDefault(kv.Key));

    [Fact]
    public async Task TheAdminApiOnOneNodeListsAndCancelsATaskOfAnotherNode()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "admin on b watches a");
        var taskId = await ReadTaskIdAsync(response);
        using var admin = new HttpClient { BaseAddress = Cluster.B.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"admin:{NodeProcess.AdminPassword}")));

        var tasks = await admin.GetFromJsonAsync<JsonElement>("api/admin/tasks");
        var task = Assert.Single(tasks.EnumerateArray(), t => t.GetProperty("taskId").GetString() == taskId);
        Assert.Equal("node-a", task.GetProperty("node").GetString());

        var overview = await admin.GetFromJsonAsync<JsonElement>("api/admin/overview");
        Assert.Equal(["node-a", "node-b"], overview.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).Order());
        Assert.Equal("healthy", overview.GetProperty("redis").GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(overview.GetProperty("redis").GetProperty("version").GetString()));

        var cancel = await admin.PostAsync($"api/admin/tasks/{taskId}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var body = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cancelled", body.GetProperty("status").GetString());
        Assert.Equal("node-a", body.GetProperty("ownerNode").GetString());
    }

    [Fact]
    public async Task AUsersTaskEventsReachTheirHubConnectionOnAnotherNodeOnlyTheirsAndWithoutARedisMessageOfTheirOwn()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        var id = await a.CreateConversationAsync();
        var events = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(Cluster.B.BaseAddress, "hubs/tasks"), options => options.Cookies = user.Cookies)
            .Build();
        hub.On<JsonElement>("taskEvent", e => events.Writer.TryWrite(e));
        await hub.StartAsync();

        // Someone else connected to the same node hears nothing of it.
        var stranger = new ChatUser();
        using (var strangerApi = stranger.On(Cluster.B.BaseAddress))
        {
            await strangerApi.GetJsonAsync("api/conversations");
        }

        var strangerEvents = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        await using var strangerHub = new HubConnectionBuilder()
            .WithUrl(new Uri(Cluster.B.BaseAddress, "hubs/tasks"), options => options.Cookies = stranger.Cookies)
            .Build();
        strangerHub.On<JsonElement>("taskEvent", e => strangerEvents.Writer.TryWrite(e));
        await strangerHub.StartAsync();

        var before = await Cluster.Redis.CommandStatsAsync();
        using var response = await a.SendAsync(id, "tell my other devices");
        var taskId = await ReadTaskIdAsync(response);
        await AssertStoppedAsync(await a.CancelAsync(taskId));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var started = await events.Reader.ReadAsync(timeout.Token);
        var ended = await events.Reader.ReadAsync(timeout.Token);
        Assert.Equal(("started", taskId, "node-a"), (started.GetProperty("kind").GetString(), started.GetProperty("taskId").GetString(), started.GetProperty("node").GetString()));
        Assert.Equal(("ended", taskId, "cancelled"), (ended.GetProperty("kind").GetString(), ended.GetProperty("taskId").GetString(), ended.GetProperty("status").GetString()));

        // The events came from the nodes' lifecycle channel (sharded): no plain PUBLISH, as a SignalR backplane would send.
        var after = await Cluster.Redis.CommandStatsAsync();
        Assert.Equal(0, after.GetValueOrDefault("publish") - before.GetValueOrDefault("publish"));
        Assert.True(after.GetValueOrDefault("spublish") > before.GetValueOrDefault("spublish"), "the lifecycle events went out on the sharded channel");
        await Task.Delay(300);
        Assert.False(strangerEvents.Reader.TryRead(out _), "another user's hub connection heard this user's task");
    }
}
