using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Core.Storage;
using ChatPortal.Testing;
using Microsoft.EntityFrameworkCore;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Redis;

/// <summary>
/// The system of record failing under running answers, over real processes: PostgreSQL killed and restarted, two
/// nodes migrating one fresh database, a node frozen (SIGSTOP) or killed and restarted under its own NodeId.
/// Each test breaks its own cluster.
/// </summary>
[Collection(StoreFaultCollection.Name)]
public sealed class StoreFaultTests
{
    private static Dictionary<string, string> Model(int tokensPerSecond, int tokens) => new()
    {
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = tokensPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ChatPortal__Model__Simulated__ResponseTokens"] = tokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
    };

    [Fact]
    public async Task PostgresKilledMidAnswerAndRestartedWhileItStreamsStoresTheAnswerExactlyOnceAndRefusesNewAnswersDuringTheOutage() =>
        await PostgresOutageAsync(restartBeforeTheEnd: true);

    [Fact]
    public async Task PostgresKilledMidAnswerAndDownUntilItsLastTokenHoldsTheEndOfTheStreamUntilTheAnswerIsStoredExactlyOnce() =>
        await PostgresOutageAsync(restartBeforeTheEnd: false);

    private static async Task PostgresOutageAsync(bool restartBeforeTheEnd)
    {
        const int tokens = 200;
        await using var cluster = await Cluster.StartAsync(nodes: 1, settings: Model(40, tokens), ownPostgres: true);
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        var id = await a.CreateConversationAsync();
        var other = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "survive a database outage");

        var deltas = 0;
        Task? outage = null;
        string? statusAtTheLastToken = null;
        string? taskId = null;

        // Every token is streamed while the database is down; the end ("done") is final only once stored, so it
        // waits in memory with the answer: the task still runs until the database is back.
        async Task LastTokenDuringTheOutageAsync()
        {
            await outage!;
            statusAtTheLastToken = (await a.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString();
            await cluster.Postgres.RestartAsync();
        }

        HttpResponseMessage? refused = null;
        (HttpStatusCode Status, string? Health)? readyDuringOutage = null;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stream = await StreamResult.ReadAsync(response, cancellationToken: limit.Token, onEvent: item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && ++deltas == 20)
            {
                outage = Task.Run(async () =>
                {
                    await cluster.Postgres.KillAsync();
                    await Cluster.EventuallyAsync(async () => (readyDuringOutage = await ReadyzAsync(cluster.A)).Value.Status == HttpStatusCode.ServiceUnavailable,
                        TimeSpan.FromSeconds(10), "node a reports the database down");
                    refused = await a.SendAsync(other, "a new question while the database is down");
                    if (restartBeforeTheEnd)
                    {
                        await cluster.Postgres.RestartAsync();
                    }
                });
            }

            if (item.Name == "delta" && deltas == tokens && !restartBeforeTheEnd)
            {
                return LastTokenDuringTheOutageAsync();
            }

            return Task.CompletedTask;
        });
        await outage!;

        // The answer streamed on through the outage to its end.
        Assert.Equal("completed", stream.Status);
        Assert.Equal(tokens, stream.Events.Count(e => e.Name == "delta"));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), readyDuringOutage!.Value);
        await AssertProblemAsync(refused!, HttpStatusCode.ServiceUnavailable, null);
        Assert.NotNull(refused!.Headers.RetryAfter);
        Assert.Equal(restartBeforeTheEnd ? null : "running", statusAtTheLastToken);

        if (!restartBeforeTheEnd)
        {
            await cluster.Postgres.RestartAsync();
        }

        // Once the database is back, the answer is stored once, after its question, as it was streamed.
        await Cluster.EventuallyAsync(async () => (await AnswersAsync(cluster, stream.TaskId!)).Count > 0,
            TimeSpan.FromSeconds(20), "the answer is stored");
        var rows = await cluster.Postgres.QueryAsync(cluster.Database,
            "SELECT id, role, content, status, seq FROM messages WHERE conversation_id = $1 ORDER BY seq", id);
        Assert.Equal(2, rows.Count);
        Assert.Equal("User", rows[0]["role"]);
        Assert.Equal("survive a database outage", rows[0]["content"]);
        Assert.Equal(stream.TaskId, rows[1]["id"]);
        Assert.Equal("Assistant", rows[1]["role"]);
        Assert.Equal("Completed", rows[1]["status"]);
        Assert.Equal(stream.Text, rows[1]["content"]);
        Assert.True(Convert.ToInt64(rows[1]["seq"]) > Convert.ToInt64(rows[0]["seq"]));
        Assert.Single(await AnswersAsync(cluster, stream.TaskId!));
        Assert.Equal(0L, await cluster.Postgres.ExecuteScalarAsync(cluster.Database,
            "SELECT count(*) FROM conversations WHERE active_task_id IS NOT NULL"));

        await Cluster.EventuallyAsync(async () => (await ReadyzAsync(cluster.A)).Health is "Healthy" or "Degraded",
            TimeSpan.FromSeconds(15), "node a is ready again");
        Assert.Equal(0L, await cluster.Postgres.ExecuteScalarAsync(cluster.Database, "SELECT count(*) FROM messages WHERE conversation_id = $1", other));

        // Sending works again, in the conversation the outage refused and in the one that went through it.
        foreach (var conversation in new[] { other, id })
        {
            using var next = await a.SendAsync(conversation, "and after the outage");
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            await AssertStoppedAsync(await a.CancelAsync(await ReadTaskIdAsync(next)));
        }

        var history = (await a.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(4, history.Count);
        Assert.Equal(stream.Text, history[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task TwoNodesStartingTogetherOnAFreshPostgresDatabaseBothBecomeHealthyAndApplyEachMigrationExactlyOnce()
    {
        // Cluster.StartAsync creates the database empty and starts both nodes at once.
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: Model(200, 10));

        foreach (var node in cluster.Nodes)
        {
            await Cluster.EventuallyAsync(async () => (await ReadyzAsync(node)) == (HttpStatusCode.OK, "Healthy"),
                TimeSpan.FromSeconds(15), $"{node.NodeId} is Healthy");
        }

        var options = DatabaseSetup.Postgres(new DbContextOptionsBuilder<PostgresChatPortalDbContext>(), "Host=localhost;Database=unused").Options;
        await using var model = new PostgresChatPortalDbContext(options);
        var expected = model.Database.GetMigrations().Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);

        var applied = (await cluster.Postgres.QueryAsync(cluster.Database, "SELECT * FROM \"__EFMigrationsHistory\""))
            .Select(r => (string)r.Values.First()!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, applied);

        // One Data Protection key for the cluster, made at start under a lock: a ring of its own on each node would
        // refuse the other's cookies.
        Assert.Single(await cluster.Postgres.QueryAsync(cluster.Database, "SELECT id FROM data_protection_keys"));

        // Both nodes work on the schema they share, for the same user.
        var user = new ChatUser();
        var conversations = new List<string>();
        foreach (var node in cluster.Nodes)
        {
            using var api = user.On(node.BaseAddress);
            var id = await api.CreateConversationAsync();
            conversations.Add(id);
            using var response = await api.SendAsync(id, $"hello {node.NodeId}");
            Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
        }

        using var onA = user.On(cluster.A.BaseAddress);
        Assert.Equal(2, (await onA.GetConversationAsync(conversations[1])).GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ANodeFrozenMidAnswerIsReleasedByAnotherNodeWithinTheLeaseTimeoutAndWritesNothingWhenItWakes()
    {
        const int tokens = 400;
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: Model(20, tokens));
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "a long answer on a node that will freeze");

        // Read node a's stream in the background, all along.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deltas = 0;
        var reading = Task.Run(async () =>
        {
            try
            {
                return await StreamResult.ReadAsync(response, item =>
                {
                    if (item.Name == "delta" && Interlocked.Increment(ref deltas) == 10)
                    {
                        started.TrySetResult();
                    }

                    return Task.CompletedTask;
                });
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                return null; // the frozen node's stream may break instead of ending: acceptable
            }
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var taskId = (await b.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("taskId").GetString()!;
        var pid = cluster.A.ProcessId!.Value;

        await SignalAsync("STOP", pid);
        var frozenAt = Stopwatch.StartNew();
        await Cluster.EventuallyAsync(async () => (await b.GetConversationAsync(id)).GetProperty("activeTask").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(16), "another node releases the frozen node's answer");
        var releasedAfter = frozenAt.Elapsed;
        Assert.True(releasedAfter < TimeSpan.FromSeconds(16), $"released {releasedAfter.TotalSeconds:0.0} s after the freeze");
        Assert.Equal("failed", (await b.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
        var lost = await LastMessageAsync(b, id);
        Assert.Equal(taskId, lost.GetProperty("id").GetString());
        Assert.Equal("failed", lost.GetProperty("status").GetString());

        // A new question goes through the other node while node a is still frozen.
        using var next = await b.SendAsync(id, "carry on on b");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var nextTask = await ReadTaskIdAsync(next);

        // Frozen for about 15 s in all.
        if (frozenAt.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(TimeSpan.FromSeconds(15) - frozenAt.Elapsed);
        }

        await SignalAsync("CONT", pid);

        // The woken node learns its claim is gone: its generation stops, its stream ends failed (never completed).
        var woken = await reading.WaitAsync(TimeSpan.FromSeconds(15));
        if (woken is not null)
        {
            Assert.Equal(taskId, woken.TaskId);
            Assert.Equal("failed", woken.Status);
            Assert.True(woken.Events.Count(e => e.Name == "delta") < tokens, "the frozen node's generation stopped");
        }

        await Cluster.EventuallyAsync(async () => (await a.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString() != "running",
            TimeSpan.FromSeconds(10), "node a lets go of the task");
        Assert.Equal("failed", (await a.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());

        // The answer on b is not disturbed by the woken node.
        var onB = await b.GetConversationAsync(id);
        Assert.Equal(nextTask, onB.GetProperty("activeTask").GetProperty("taskId").GetString());
        Assert.Equal("node-b", onB.GetProperty("activeTask").GetProperty("node").GetString());
        await AssertStoppedAsync(await b.CancelAsync(nextTask));

        // Exactly one final record for the released task (the janitor's), and no second answer for it.
        var rows = await cluster.Postgres.QueryAsync(cluster.Database,
            "SELECT id, role, status, content, node FROM messages WHERE conversation_id = $1 ORDER BY seq", id);
        Assert.Equal(["User", "Assistant", "User", "Assistant"], rows.Select(r => (string)r["role"]!));
        Assert.Equal(taskId, rows[1]["id"]);
        Assert.Equal("Failed", rows[1]["status"]);
        Assert.Equal(nextTask, rows[3]["id"]);
        Assert.Equal("Cancelled", rows[3]["status"]);
        Assert.Single(await AnswersAsync(cluster, taskId));
        Assert.Single(await AnswersAsync(cluster, nextTask));
    }

    [Fact]
    public async Task ANodeKilledMidAnswerAndRestartedAtOnceUnderTheSameNodeIdEndsTheKilledAnswerFailed()
    {
        await using var cluster = await Cluster.StartAsync(nodes: 2, settings: Model(20, 400));
        var user = new ChatUser();
        using var a = user.On(cluster.A.BaseAddress);
        using var b = user.On(cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();
        using var response = await a.SendAsync(id, "i will be killed and come back");
        var taskId = await ReadTaskIdAsync(response);
        await Task.Delay(500); // a few tokens in

        await cluster.A.KillAsync();
        var killedAt = Stopwatch.StartNew();
        await cluster.A.RestartAsync();

        // Released by a janitor: the new instance's, or b's (which may already have done it while node a restarted).

        await Cluster.EventuallyAsync(async () => (await a.GetConversationAsync(id)).GetProperty("activeTask").ValueKind == JsonValueKind.Null,
            TimeSpan.FromSeconds(20), "the killed instance's answer is released");
        Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(20), $"released {killedAt.Elapsed.TotalSeconds:0.0} s after the kill");

        foreach (var api in new[] { a, b })
        {
            Assert.Equal("failed", (await api.GetJsonAsync($"api/tasks/{taskId}")).GetProperty("status").GetString());
            var lost = await LastMessageAsync(api, id);
            Assert.Equal(taskId, lost.GetProperty("id").GetString());
            Assert.Equal("failed", lost.GetProperty("status").GetString());
        }

        Assert.Single(await AnswersAsync(cluster, taskId));

        // The restarted node (same NodeId, new instance) takes the conversation on.
        using var next = await a.SendAsync(id, "again on the restarted node");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var nextTask = await ReadTaskIdAsync(next);
        await AssertStoppedAsync(await b.CancelAsync(nextTask));
    }

    private static async Task<List<IReadOnlyDictionary<string, object?>>> AnswersAsync(Cluster cluster, string taskId) =>
        [.. await cluster.Postgres.QueryAsync(cluster.Database, "SELECT id, status, content FROM messages WHERE id = $1", taskId)];

    private static async Task<(HttpStatusCode Status, string? Health)> ReadyzAsync(NodeProcess node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync("readyz");
            var body = await response.Content.ReadAsStringAsync();
            string? status = null;
            try
            {
                status = JsonDocument.Parse(body).RootElement.GetProperty("status").GetString();
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
            }

            return (response.StatusCode, status);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (0, null);
        }
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }
}

/// <summary>Tests that start and break their own processes run one after another (2 cores; timing matters).</summary>
[CollectionDefinition(Name)]
public sealed class StoreFaultCollection
{
    public const string Name = "store-faults";
}
