using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatPortal.Core.Ownership;
using ChatPortal.Testing;
using Xunit.Abstractions;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// Redis stalling and a node coming back under a new name, over real processes (PostgreSQL, redis-server, two
/// nodes). Outcomes are read from the database and the streams users saw. Each test breaks its own cluster.
/// </summary>
[Collection(StoreFaultCollection.Name)]
public sealed class FaultTests(ITestOutputHelper output)
{
    private static Dictionary<string, string> Model(int tokensPerSecond, int tokens) => new()
    {
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = tokensPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ChatPortal__Model__Simulated__ResponseTokens"] = tokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
    };

    [Fact]
    public async Task AnAnswerEndingWhileRedisStallsIsStoredOnceAStopThroughAnotherNodeEndsItsAnswerThroughTheDatabaseAndAfterwardsAllWorks()
    {
        const int tokens = 600; // 15 s an answer
        var stallFor = TimeSpan.FromSeconds(10);
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: Model(40, tokens));
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var ending = await a.CreateConversationAsync();
        var stopping = await a.CreateConversationAsync();

        // The first answer runs on node a; 4 s before its end a second one starts there, and 3 s before its end
        // Redis falls asleep for 10 s: the first answer commits, and the second one is stopped, while it sleeps.
        var secondDue = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stallDue = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var firstResponse = await a.SendAsync(ending, "an answer that ends while Redis sleeps");
        var firstDeltas = 0;
        var firstReading = Task.Run(() => StreamResult.ReadAsync(firstResponse, item =>
        {
            if (item.Name == "delta" && ++firstDeltas == tokens - 160)
            {
                secondDue.TrySetResult();
            }
            else if (item.Name == "delta" && firstDeltas == tokens - 120)
            {
                stallDue.TrySetResult();
            }

            return Task.CompletedTask;
        }));

        await secondDue.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var secondResponse = await a.SendAsync(stopping, "an answer stopped through node b while Redis sleeps");
        var secondTaskId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondReading = Task.Run(() => StreamResult.ReadAsync(secondResponse, item =>
        {
            if (item.Name == "task")
            {
                secondTaskId.TrySetResult(item.Get("taskId")!);
            }

            return Task.CompletedTask;
        }));
        var secondTask = await secondTaskId.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await stallDue.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stall = await cluster.Redis.BeginStallAsync(stallFor);
        Assert.False(firstReading.IsCompleted, "the first answer still streamed when Redis fell asleep");

        // The first answer streams to its end and is final while Redis still sleeps.
        var first = await firstReading.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(stall.IsCompleted, "the first answer ended while Redis slept");
        Assert.Equal("completed", first.Status);
        Assert.Equal(tokens, first.Events.Count(e => e.Name == "delta"));

        // A Stop through node b, which cannot reach node a through Redis now: node a finds it in the database at
        // its next lease renewal (every 2 s), well before Redis wakes up.
        var stopClock = Stopwatch.StartNew();
        using var stop = await b.CancelAsync(secondTask);
        var stopBody = await stop.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(
            (stop.StatusCode, stopBody.GetProperty("status").GetString()) is (HttpStatusCode.OK, "cancelled") or (HttpStatusCode.Accepted, "cancelling"),
            $"the Stop is accepted: {(int)stop.StatusCode} {stopBody}");
        var second = await secondReading.WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"Stop during the stall: answered {(int)stop.StatusCode} {stopBody}; the answer's stream ended {stopClock.Elapsed.TotalSeconds:0.0} s after the click.");
        Assert.False(stall.IsCompleted, "the stopped answer ended while Redis slept");
        Assert.Equal("cancelled", second.Status);
        Assert.InRange(second.Events.Count(e => e.Name == "delta"), 1, tokens - 1);
        // The node logs that line just after tripping the task's token, and its output reaches the test a moment
        // later still: the stream's end can overtake both.
        await Cluster.EventuallyAsync(() => Task.FromResult(cluster.A.Log.Contains($"Task {secondTask} stopped by its Stop recorded in the database.", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), "node a logs that the Stop recorded in the database stopped the answer");

        await stall.WaitAsync(stallFor + TimeSpan.FromSeconds(15));

        // Each answer is stored exactly once, after its question, with the text its stream showed; no claim is left.
        await AssertStoredAsync(cluster, ending, first.TaskId!, "Completed", first.Text);
        await AssertStoredAsync(cluster, stopping, secondTask, "Cancelled", second.Text);
        Assert.Equal(0L, await cluster.Postgres.ExecuteScalarAsync(cluster.Database,
            "SELECT count(*) FROM conversations WHERE active_task_id IS NOT NULL"));

        // Afterwards everything works: both nodes are subscribed again (the watchdog's ping came back) ...
        foreach (var node in cluster.Nodes)
        {
            await Cluster.EventuallyAsync(async () => await SubscribedAsync(node), TimeSpan.FromSeconds(20), $"{node.NodeId} is Healthy and subscribed");
        }

        // ... a new answer streams, node b follows it live, and a Stop through node b ends it on the first request.
        using var nextResponse = await a.SendAsync(ending, "and after the stall");
        string? nextTaskId = null;
        var nextStreaming = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var nextDeltas = 0;
        var nextReading = Task.Run(() => StreamResult.ReadAsync(nextResponse, item =>
        {
            nextTaskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++nextDeltas == 10)
            {
                nextStreaming.TrySetResult(nextTaskId!);
            }

            return Task.CompletedTask;
        }));
        var nextTask = await nextStreaming.Task.WaitAsync(TimeSpan.FromSeconds(30));

        using var followResponse = await b.FollowAsync(nextTask);
        Assert.Equal(HttpStatusCode.OK, followResponse.StatusCode);
        var followed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var followedDeltas = 0;
        var followReading = Task.Run(() => StreamResult.ReadAsync(followResponse, item =>
        {
            if (item.Name == "delta" && ++followedDeltas == 5)
            {
                followed.TrySetResult();
            }

            return Task.CompletedTask;
        }));
        await followed.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await AssertStoppedAsync(await b.CancelAsync(nextTask));

        var next = await nextReading.WaitAsync(TimeSpan.FromSeconds(15));
        var follower = await followReading.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal("cancelled", next.Status);
        Assert.Equal("cancelled", follower.Status);
        Assert.Equal(next.Text, follower.Text);
        Assert.Equal(next.Text, (await LastMessageAsync(b, ending)).GetProperty("content").GetString());
    }

    [Fact]
    public async Task ANodeKilledMidAnswerAndRestartedAtOnceUnderANewNodeIdEndsTheKilledAnswerFailedAndTheUserGoesOnOnAnotherNode()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: Model(20, 400));
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "i will be killed and my node comes back as another");

        // Read node a's stream all along, keeping the text it showed before it broke.
        var shown = new StringBuilder();
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deltas = 0;
        var reading = Task.Run(async () =>
        {
            try
            {
                return await StreamResult.ReadAsync(response, item =>
                {
                    if (item.Name == "delta")
                    {
                        lock (shown)
                        {
                            shown.Append(item.Get("text"));
                        }

                        if (++deltas == 10)
                        {
                            started.TrySetResult(item.Get("taskId") ?? "");
                        }
                    }

                    return Task.CompletedTask;
                });
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                return null; // the killed node's stream breaks
            }
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var taskId = (await b.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("taskId").GetString()!;
        Assert.Equal("node-a", (await b.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("node").GetString());

        await cluster.A.KillAsync();
        var killedAt = Stopwatch.StartNew();

        // Node a comes back at once as node-a2 (it starts up meanwhile). The killed instance's answer is released
        // by a janitor (node b's, or node-a2's once it has renewed a whole lease) after its lease lapsed: 10 s,
        // plus the janitor's 3 s interval.
        var replacing = cluster.A.StartReplacementAsync("node-a2");
        string textShown;
        try
        {
            Assert.Null(await reading.WaitAsync(TimeSpan.FromSeconds(10)));
            lock (shown)
            {
                textShown = shown.ToString();
            }

            await Cluster.EventuallyAsync(async () => (await b.GetConversationAsync(id)).GetProperty("activeTask").ValueKind == JsonValueKind.Null,
                TimeSpan.FromSeconds(25), "the killed instance's answer is released");
            Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(25), $"released {killedAt.Elapsed.TotalSeconds:0.0} s after the kill");
            output.WriteLine($"Released {killedAt.Elapsed.TotalSeconds:0.0} s after the kill.");
        }
        catch
        {
            await StopWhenStartedAsync(replacing);
            throw;
        }

        await using var replacement = await replacing;
        output.WriteLine($"node-a2 served {killedAt.Elapsed.TotalSeconds:0.0} s after the kill.");
        using var a2 = user.On(replacement.BaseAddress);

        foreach (var api in new[] { a2, b })
        {
            Assert.Equal("failed", (await api.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
            var lost = await LastMessageAsync(api, id);
            Assert.Equal(taskId, lost.GetProperty("id").GetString());
            Assert.Equal("failed", lost.GetProperty("status").GetString());
        }

        // Exactly one final record: failed, in node a's name, with no more text than the stream showed (the janitor
        // keeps what it saw; the text lived only in the killed process).
        var record = Assert.Single(await cluster.Postgres.QueryAsync(cluster.Database,
            "SELECT status, content, error, node FROM messages WHERE id = $1", taskId));
        Assert.Equal("Failed", record["status"]);
        Assert.Equal("node-a", record["node"]);
        Assert.Equal(Janitor.DeadOwnerReason, record["error"]);
        Assert.StartsWith((string)record["content"]!, textShown, StringComparison.Ordinal);
        Assert.Equal(0L, await cluster.Postgres.ExecuteScalarAsync(cluster.Database,
            "SELECT count(*) FROM conversations WHERE active_task_id IS NOT NULL"));

        // The user goes on on node b, and the node that came back as node-a2 stops that answer at once.
        using var next = await b.SendAsync(id, "carry on on b");
        var nextTask = await ReadTaskIdAsync(next);
        Assert.Equal("node-b", (await a2.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("node").GetString());
        await AssertStoppedAsync(await a2.CancelAsync(nextTask));

        var history = await cluster.Postgres.QueryAsync(cluster.Database,
            "SELECT id, role, status FROM messages WHERE conversation_id = $1 ORDER BY seq", id);
        Assert.Equal(["User", "Assistant", "User", "Assistant"], history.Select(r => (string)r["role"]!));
        Assert.Equal((taskId, "Failed"), ((string)history[1]["id"]!, (string)history[1]["status"]!));
        Assert.Equal((nextTask, "Cancelled"), ((string)history[3]["id"]!, (string)history[3]["status"]!));

        // The cluster's view settles: node-a leaves with its heartbeat, node-a2 is there.
        using var admin = new HttpClient { BaseAddress = cluster.B.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{NodeProcess.AdminPassword}")));
        await Cluster.EventuallyAsync(async () =>
        {
            var overview = await admin.GetFromJsonAsync<JsonElement>("api/admin/overview");
            return overview.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).Order().SequenceEqual(["node-a2", "node-b"]);
        }, TimeSpan.FromSeconds(20), "the dashboard lists node-a2 and node-b only");
    }

    private static async Task AssertStoredAsync(Cluster cluster, string conversationId, string taskId, string status, string text)
    {
        var rows = await cluster.Postgres.QueryAsync(cluster.Database,
            "SELECT id, role, status, content FROM messages WHERE conversation_id = $1 ORDER BY seq", conversationId);
        Assert.Equal(["User", "Assistant"], rows.Select(r => (string)r["role"]!));
        Assert.Equal(taskId, rows[1]["id"]);
        Assert.Equal(status, rows[1]["status"]);
        Assert.Equal(text, rows[1]["content"]);
        Assert.Single(await cluster.Postgres.QueryAsync(cluster.Database, "SELECT id FROM messages WHERE id = $1", taskId));
    }

    private static async Task StopWhenStartedAsync(Task<NodeProcess> starting)
    {
        try
        {
            await (await starting).DisposeAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // It never started: nothing to stop.
        }
    }

    /// <summary>Healthy, with the cancel subscription proven alive by the watchdog's ping.</summary>
    private static async Task<bool> SubscribedAsync(NodeProcess node)
    {
        try
        {
            var ready = await Cluster.ReadyAsync(node);
            return ready.GetProperty("status").GetString() == "Healthy"
                && ready.GetProperty("checks").GetProperty("redis").GetProperty("data").TryGetProperty("subscriptionAlive", out var alive)
                && alive.GetBoolean();
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
