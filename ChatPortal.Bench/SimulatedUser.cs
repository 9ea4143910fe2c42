using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Bench;

/// <summary>
/// One user of a level, through the public HTTP API only: a conversation on their home node, one message whose
/// stream is read to <c>done</c>, and, for some users, Stop after a few deltas through a node other than the
/// owner (the owner itself in memory, where only it knows the task).
/// </summary>
public sealed class SimulatedUser(int index, BenchCluster cluster, double tokensPerSecond, int? cancelAfterDeltas) : IDisposable
{
    private readonly ChatUser _identity = new();
    private readonly int _home = index % cluster.Nodes.Count;
    private readonly Dictionary<int, ChatApiClient> _cancelClients = [];
    private ChatApiClient? _client;
    private string? _conversationId;

    public bool WillCancel => cancelAfterDeltas is not null;

    /// <summary>Before the level: the identity cookie, the conversation, and warm connections to the home node and the node that will cancel.</summary>
    public async Task PrepareAsync()
    {
        _client = _identity.On(cluster.Nodes[_home]);
        _conversationId = await _client.CreateConversationAsync();
        if (WillCancel)
        {
            (await CancelClient(CancelNodeFor(_home)).Http.GetAsync("healthz")).EnsureSuccessStatusCode();
        }
    }

    public async Task<UserOutcome> RunAsync(SteadyWindow window, CancellationToken cancellationToken)
    {
        var client = _client ?? throw new InvalidOperationException("PrepareAsync first.");
        var started = false;
        var deltas = 0;
        long firstDeltaAt = 0;
        var lateness = TimeSpan.Zero;
        var interval = TimeSpan.FromSeconds(1 / tokensPerSecond);
        string? status = null;
        Task<CancelAttempt>? cancel = null;
        try
        {
            using var response = await client.SendAsync(_conversationId!, $"Benchmark question {index}: how do nodes share a Stop?", cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return UserOutcome.Failed($"POST messages answered {(int)response.StatusCode}");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            string? taskId = null, owner = null;
            await foreach (var item in Sse.ReadAsync(stream, cancellationToken))
            {
                switch (item.Name)
                {
                    case "task":
                        taskId = item.Get("taskId");
                        owner = item.Get("node");
                        break;
                    case "delta":
                        var now = Stopwatch.GetTimestamp();
                        if (++deltas == 1)
                        {
                            firstDeltaAt = now;
                            started = true;
                            window.StreamStarted();
                        }

                        // How far behind the model's clock this token arrives (the first token sets the clock).
                        var late = Stopwatch.GetElapsedTime(firstDeltaAt, now) - interval * (deltas - 1);
                        lateness = late > lateness ? late : lateness;

                        window.Delta(deltas, WillCancel);
                        if (deltas == cancelAfterDeltas && taskId is not null)
                        {
                            cancel = CancelAsync(taskId, CancelNodeFor(cluster.IndexOf(owner) ?? _home));
                        }

                        break;
                    case "done":
                        status = item.Get("status");
                        break;
                }

                if (status is not null)
                {
                    break;
                }
            }

            var endedAt = Stopwatch.GetTimestamp();
            window.AnswerEnded(cancelled: WillCancel);
            if (status is null)
            {
                return UserOutcome.Failed("the stream closed without done");
            }

            var attempt = cancel is null ? null : await cancel;
            return new UserOutcome(
                status,
                deltas,
                lateness.TotalMilliseconds,
                attempt is null ? null : Stopwatch.GetElapsedTime(attempt.ClickedAt, endedAt).TotalMilliseconds,
                attempt,
                Error: null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or JsonException)
        {
            return UserOutcome.Failed(ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            if (!started)
            {
                window.StreamStarted();
            }

            if (WillCancel)
            {
                if (cancel is not null)
                {
                    await Task.WhenAny(cancel);
                }

                window.CancelSettled();
            }
        }
    }

    /// <summary>Stop, as a click: the time the request leaves, its status, and whether it carried the final state.</summary>
    private async Task<CancelAttempt> CancelAsync(string taskId, int node)
    {
        var clickedAt = Stopwatch.GetTimestamp();
        using var response = await CancelClient(node).CancelAsync(taskId);
        var answeredAt = Stopwatch.GetTimestamp();
        string? state = null;
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
        {
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            state = body.TryGetProperty("status", out var value) ? value.GetString() : null;
        }

        return new CancelAttempt(clickedAt, Stopwatch.GetElapsedTime(clickedAt, answeredAt).TotalMilliseconds, (int)response.StatusCode, state);
    }

    private int CancelNodeFor(int owner) => cluster.Mode.CancelsCrossNode() ? (owner + 1) % cluster.Nodes.Count : owner;

    /// <summary>A connection of its own for Stop, as a browser's fetch next to a running stream.</summary>
    private ChatApiClient CancelClient(int node)
    {
        lock (_cancelClients)
        {
            if (!_cancelClients.TryGetValue(node, out var client))
            {
                _cancelClients[node] = client = _identity.On(cluster.Nodes[node]);
            }

            return client;
        }
    }

    public void Dispose()
    {
        _client?.Dispose();
        foreach (var client in _cancelClients.Values)
        {
            client.Dispose();
        }
    }
}

/// <param name="ClickedAt">Stopwatch timestamp of sending POST /api/tasks/{id}/cancel.</param>
/// <param name="ResponseMs">Until the cancel request answered.</param>
/// <param name="HttpStatus">200 with the final state; 202 when the owner did not confirm in time.</param>
/// <param name="State">The <c>status</c> of the answer: cancelled (or completed/failed), or cancelling.</param>
public sealed record CancelAttempt(long ClickedAt, double ResponseMs, int HttpStatus, string? State)
{
    private static readonly string[] FinalStates = ["cancelled", "completed", "failed"];

    /// <summary>The first request was enough: 200 with a final state.</summary>
    public bool Confirmed => HttpStatus == 200 && FinalStates.Contains(State);
}

/// <param name="Status">The <c>done</c> status, null when the stream never ended.</param>
/// <param name="WorstLatenessMs">How late the latest token of the stream arrived against the model's pace, counted from its first token.</param>
/// <param name="CancelLatencyMs">Click to <c>done</c> on the owner's stream.</param>
public sealed record UserOutcome(string? Status, int Deltas, double? WorstLatenessMs, double? CancelLatencyMs, CancelAttempt? Cancel, string? Error)
{
    public static UserOutcome Failed(string error) => new(null, 0, null, null, null, error);

    public bool Ended => Status is not null;
}
