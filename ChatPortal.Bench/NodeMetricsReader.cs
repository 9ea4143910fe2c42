using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ChatPortal.Bench;

/// <summary>
/// The nodes' own coordination figures from <c>GET /api/admin/overview</c> (HTTP Basic): answers, and per answer
/// the Redis commands and round trips the coordinator spent and the time it waited on them. A Redis node reports
/// the cluster (the others' figures come with their heartbeats, so it waits until every answer is counted); an
/// node without Redis only itself, so every node is asked.
/// </summary>
public sealed class NodeMetricsReader(IReadOnlyList<Uri> nodes, string adminPassword) : IDisposable
{
    /// <summary>Each node keeps its last 2048 answers for the means; totals are exact while no node has more.</summary>
    public const int NodeWindow = 2048;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly HttpClient _http = CreateClient(adminPassword);

    /// <summary>Reads until the nodes count at least <paramref name="answers"/> answers, or <paramref name="wait"/> passed.</summary>
    public async Task<CoordinationTotals> ReadAsync(long answers, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var totals = await ReadOnceAsync();
            if (totals.Answers >= answers || DateTime.UtcNow > deadline)
            {
                return totals;
            }

            await Task.Delay(PollInterval);
        }
    }

    private async Task<CoordinationTotals> ReadOnceAsync()
    {
        var first = await OverviewAsync(nodes[0]);
        var overviews = first.GetProperty("nodes").GetArrayLength() > 1 || nodes.Count == 1
            ? [first]
            : (JsonElement[])[first, .. await Task.WhenAll(nodes.Skip(1).Select(OverviewAsync))];
        return overviews.Select(CoordinationTotals.From).Aggregate(CoordinationTotals.Zero, (sum, next) => sum + next);
    }

    private async Task<JsonElement> OverviewAsync(Uri node) =>
        await _http.GetFromJsonAsync<JsonElement>(new Uri(node, "api/admin/overview"));

    private static HttpClient CreateClient(string password)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
        return http;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Sums over the answers the nodes counted (means × answers), so two readings give a level's figures.</summary>
public sealed record CoordinationTotals(long Answers, double Commands, double RoundTrips, double OverheadMs, long MostAnswersOnOneNode)
{
    public static CoordinationTotals Zero { get; } = new(0, 0, 0, 0, 0);

    public static CoordinationTotals From(JsonElement overview)
    {
        var metrics = overview.GetProperty("metrics");
        var answers = metrics.GetProperty("answers").GetInt64();
        double Sum(string name) => metrics.TryGetProperty(name, out var mean) && mean.ValueKind == JsonValueKind.Number ? mean.GetDouble() * answers : 0;
        var most = overview.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("answers").GetInt64()).DefaultIfEmpty(0).Max();
        return new CoordinationTotals(answers, Sum("redisCommandsPerAnswer"), Sum("redisRoundTripsPerAnswer"), Sum("overheadMsPerAnswer"), most);
    }

    public static CoordinationTotals operator +(CoordinationTotals a, CoordinationTotals b) =>
        new(a.Answers + b.Answers, a.Commands + b.Commands, a.RoundTrips + b.RoundTrips, a.OverheadMs + b.OverheadMs, Math.Max(a.MostAnswersOnOneNode, b.MostAnswersOnOneNode));

    /// <summary>Per answer between two readings; null when no answer ended or a node's window rolled over.</summary>
    public CoordinationFigures? Since(CoordinationTotals earlier)
    {
        var answers = Answers - earlier.Answers;
        if (answers <= 0 || MostAnswersOnOneNode > NodeMetricsReader.NodeWindow)
        {
            return null;
        }

        return new CoordinationFigures(
            answers,
            (Commands - earlier.Commands) / answers,
            (RoundTrips - earlier.RoundTrips) / answers,
            (OverheadMs - earlier.OverheadMs) / answers);
    }
}

/// <summary>What the nodes measured for the answers of one level, per answer.</summary>
public sealed record CoordinationFigures(long Answers, double CommandsPerAnswer, double RoundTripsPerAnswer, double OverheadMsPerAnswer);
