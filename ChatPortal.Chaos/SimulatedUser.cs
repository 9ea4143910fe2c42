using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Chaos;

/// <summary>
/// One user: creates conversations, sends messages on random nodes and reads the answers; some Stop from another
/// node, some follow from another node, some reload. Outages are met as a user would: retry later.
/// </summary>
public sealed class SimulatedUser(int index, ChaosCluster cluster, Transcripts transcripts, Random random)
{
    private static readonly TimeSpan StreamIdleTimeout = TimeSpan.FromSeconds(50);
    private static readonly TimeSpan StreamTotalTimeout = TimeSpan.FromSeconds(120);

    private readonly ChatUser _user = new();
    private readonly Dictionary<int, ChatApiClient> _clients = [];
    private readonly Lock _randomGate = new();
    private int _questions;

    private double Next()
    {
        lock (_randomGate)
        {
            return random.NextDouble();
        }
    }

    private int Next(int min, int max)
    {
        lock (_randomGate)
        {
            return random.Next(min, max);
        }
    }

    private NodeSlot AnySlot() => cluster.Slots[Next(0, cluster.Slots.Count)];

    private NodeSlot OtherSlot(NodeSlot than)
    {
        var others = cluster.Slots.Where(s => s != than).ToList();
        return others[Next(0, others.Count)];
    }

    private ChatApiClient Client(NodeSlot slot)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(slot.Index, out var client))
            {
                client = _user.On(slot.BaseAddress);
                client.Http.Timeout = TimeSpan.FromSeconds(30);
                _clients[slot.Index] = client;
            }

            return client;
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var conversation = await CreateConversationAsync(stop);
            if (conversation is null)
            {
                continue;
            }

            var turns = Next(1, 4);
            for (var turn = 0; turn < turns && !stop.IsCancellationRequested; turn++)
            {
                if (turn == 0 && Next() < 0.05)
                {
                    await ConcurrentProbeAsync(conversation);
                }
                else
                {
                    await SendAsync(conversation, stop);
                }

                await Task.Delay(Next(0, 200), CancellationToken.None);
            }
        }
    }

    private async Task<string?> CreateConversationAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var slot = AnySlot();
            try
            {
                using var response = await Client(slot).Http.PostAsync("api/conversations", null, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    Interlocked.Increment(ref transcripts.Conversations);
                    return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
                }

                transcripts.Count($"create {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                transcripts.Count("create unreachable");
            }

            await Task.Delay(Next(300, 1500), CancellationToken.None);
        }

        return null;
    }

    private string NewQuestion() => $"question {index}-{Interlocked.Increment(ref _questions)} {Guid.NewGuid():N}";

    /// <summary>Sends one question (retrying refusals on random nodes) and reads its answer.</summary>
    private async Task SendAsync(string conversation, CancellationToken stop)
    {
        var question = NewQuestion();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!stop.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            var slot = AnySlot();
            var via = slot.Node.NodeId;
            HttpResponseMessage response;
            try
            {
                response = await Client(slot).SendAsync(conversation, question);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                transcripts.Count("send unreachable");
                await Task.Delay(Next(300, 1500), CancellationToken.None);
                continue;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    await ReadAnswerAsync(response, conversation, question, slot, via);
                    return;
                }

                transcripts.Count($"send {(int)response.StatusCode}");
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return;
                }
            }

            await Task.Delay(Next(300, 1500), CancellationToken.None);
        }
    }

    /// <summary>Two sends to one conversation at once through two nodes: at most one may run at a time.</summary>
    private async Task ConcurrentProbeAsync(string conversation)
    {
        Interlocked.Increment(ref transcripts.ConcurrentProbes);
        var first = AnySlot();
        var second = OtherSlot(first);
        var started = await Task.WhenAll(ProbeOneAsync(conversation, first), ProbeOneAsync(conversation, second));
        if (started.All(s => s))
        {
            Interlocked.Increment(ref transcripts.ConcurrentProbesBothStarted);
        }
    }

    private async Task<bool> ProbeOneAsync(string conversation, NodeSlot slot)
    {
        var via = slot.Node.NodeId;
        try
        {
            var question = NewQuestion();
            using var response = await Client(slot).SendAsync(conversation, question);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                transcripts.Count($"probe {(int)response.StatusCode}");
                return false;
            }

            var record = await ReadAnswerAsync(response, conversation, question, slot, via, behave: false);
            return record.TaskId is not null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            transcripts.Count("probe unreachable");
            return false;
        }
    }

    private async Task<StreamRecord> ReadAnswerAsync(HttpResponseMessage response, string conversation, string? question, NodeSlot slot, string via, bool behave = true)
    {
        var record = new StreamRecord { Kind = StreamKind.Send, ConversationId = conversation, Question = question, Via = via };
        var stopAfter = behave && Next() < 0.2 ? Next(0, 14) : -1;
        var follow = behave && Next() < 0.2;
        var reload = behave && Next() < 0.15;
        var side = new List<Task>();
        await ReadStreamAsync(response, record, evt =>
        {
            if (evt == "task")
            {
                Interlocked.Increment(ref transcripts.TasksStarted);
                if (follow)
                {
                    side.Add(FollowAsync(record.TaskId!, conversation, OtherSlot(slot)));
                }
            }

            if (record.TaskId is not null && stopAfter >= 0 && record.Deltas == stopAfter && (evt == "task" && stopAfter == 0 || evt == "delta"))
            {
                side.Add(CancelAsync(record.TaskId, slot));
            }
        });
        transcripts.Streams.Enqueue(record);
        await Task.WhenAll(side);
        if (reload && record.TaskId is not null && record.DoneStatus is not null)
        {
            await ReloadAsync(record);
        }

        return record;
    }

    /// <summary>Reads SSE events into the record until done, a broken connection, or a stall.</summary>
    private static async Task ReadStreamAsync(HttpResponseMessage response, StreamRecord record, Action<string>? onEvent)
    {
        using var total = new CancellationTokenSource(StreamTotalTimeout);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(total.Token);
        idle.CancelAfter(StreamIdleTimeout);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(idle.Token);
            await foreach (var item in Sse.ReadAsync(stream, idle.Token))
            {
                idle.CancelAfter(StreamIdleTimeout);
                switch (item.Name)
                {
                    case "task":
                        record.TaskId = item.Get("taskId");
                        record.Node = item.Get("node");
                        break;
                    case "delta":
                        record.Text.Append(item.Get("text"));
                        record.Deltas++;
                        break;
                    case "done":
                        record.DoneStatus = item.Get("status");
                        record.Reason = item.Get("reason");
                        break;
                }

                onEvent?.Invoke(item.Name);
                if (record.DoneStatus is not null)
                {
                    break;
                }
            }

            if (record.DoneStatus is null)
            {
                record.Broken = true;
                record.BrokenReason = "ended without done";
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            record.Broken = true;
            record.BrokenReason = ex is OperationCanceledException ? "stalled" : ex.GetType().Name;
        }

        record.End = DateTime.UtcNow;
    }

    private async Task FollowAsync(string taskId, string conversation, NodeSlot slot)
    {
        var via = slot.Node.NodeId;
        HttpResponseMessage response;
        try
        {
            response = await Client(slot).FollowAsync(taskId);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            transcripts.Count("follow unreachable");
            return;
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                transcripts.Count($"follow {(int)response.StatusCode}");
                return;
            }

            var record = new StreamRecord { Kind = StreamKind.Follow, ConversationId = conversation, Via = via, TaskId = taskId };
            await ReadStreamAsync(response, record, null);
            transcripts.Streams.Enqueue(record);
        }
    }

    /// <summary>Stop through another node than the one streaming; a user retries an unreachable node elsewhere.</summary>
    private async Task CancelAsync(string taskId, NodeSlot streaming)
    {
        var slot = OtherSlot(streaming);
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            var via = slot.Node.NodeId;
            try
            {
                using var response = await Client(slot).CancelAsync(taskId);
                string? status = null;
                if (response.Content.Headers.ContentType?.MediaType == "application/json")
                {
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                    status = body.TryGetProperty("status", out var s) ? s.GetString() : null;
                }

                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted || attempt == 4)
                {
                    transcripts.Cancels.Enqueue(new CancelRecord(taskId, via, (int)response.StatusCode, status, null, DateTime.UtcNow, attempt));
                    return;
                }

                transcripts.Count($"cancel {(int)response.StatusCode}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or JsonException)
            {
                transcripts.Count("cancel unreachable");
                if (attempt == 4)
                {
                    transcripts.Cancels.Enqueue(new CancelRecord(taskId, via, 0, null, ex.GetType().Name, DateTime.UtcNow, attempt));
                    return;
                }
            }

            await Task.Delay(Next(200, 800), CancellationToken.None);
            slot = OtherSlot(slot);
        }
    }

    /// <summary>A reload on a random node after the answer ended: what the conversation shows for it.</summary>
    private async Task ReloadAsync(StreamRecord record)
    {
        var slot = AnySlot();
        try
        {
            using var response = await Client(slot).Http.GetAsync($"api/conversations/{record.ConversationId}");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                transcripts.Count($"reload {(int)response.StatusCode}");
                return;
            }

            Interlocked.Increment(ref transcripts.ReloadsDone);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            foreach (var message in body.GetProperty("messages").EnumerateArray())
            {
                if (message.GetProperty("id").GetString() == record.TaskId)
                {
                    transcripts.Reloads.Enqueue(new ReloadRecord(record.ConversationId, record.TaskId!, slot.Node.NodeId, record.Start, DateTime.UtcNow, true,
                        message.GetProperty("status").GetString(), message.GetProperty("content").GetString()));
                    return;
                }
            }

            transcripts.Reloads.Enqueue(new ReloadRecord(record.ConversationId, record.TaskId!, slot.Node.NodeId, record.Start, DateTime.UtcNow, false, null, null));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or JsonException)
        {
            transcripts.Count("reload unreachable");
        }
    }
}
