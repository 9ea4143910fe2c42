using ChatPortal.Core;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;
using ChatPortal.Core.Telemetry;
using ChatPortal.Hosting;

namespace ChatPortal.Admin;

/// <summary>What the admin dashboard and <c>/api/admin/*</c> show. An interface so components can be tested with a fake.</summary>
public interface IAdminDashboardSource
{
    Task<AdminOverview> GetOverviewAsync(CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AdminTask>> ListTasksAsync(CancellationToken cancellationToken = default);

    /// <summary>Cancels any task on any node, as an administrator.</summary>
    Task<CancelResult> CancelAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Task starts and ends on every node, pushed (no polling).</summary>
    IDisposable Subscribe(Action<TaskLifecycleEvent> listener);

    /// <summary>The last minutes of samples, oldest first, for the charts.</summary>
    IReadOnlyList<MetricsSample> History { get; }
}

/// <summary>The dashboard source of a real node: the cluster through the coordinator, this node's own figures, Redis INFO.</summary>
public sealed class ClusterDashboardSource(
    INodeDirectory directory,
    GenerationEngine engine,
    TaskLifecycleEvents events,
    RedisInfoReader redisInfo,
    MetricsHistory history) : IAdminDashboardSource
{
    public IReadOnlyList<MetricsSample> History => history.Samples;

    public async Task<AdminOverview> GetOverviewAsync(CancellationToken cancellationToken = default)
    {
        var nodes = await directory.ListNodesAsync(cancellationToken);
        var status = await redisInfo.ReadAsync(cancellationToken);
        return new AdminOverview(
            [.. nodes.Select(n => new AdminNode(n.Id, n.LastSeen, n.ActiveTasks, n.Circuits, n.SubscriptionAlive, n.Metrics?.Answers ?? 0))],
            status,
            Aggregate(nodes.Select(n => n.Metrics).OfType<MetricsSnapshot>().ToList()));
    }

    public async Task<IReadOnlyList<AdminTask>> ListTasksAsync(CancellationToken cancellationToken = default)
    {
        var running = await engine.ListRunningAsync(cancellationToken);
        return [.. running.Select(t => new AdminTask(t.Info.TaskId, t.Info.ConversationId, t.Info.UserId, t.Info.Node, t.Info.StartedAt, t.Tokens, "running"))];
    }

    public Task<CancelResult> CancelAsync(string taskId, CancellationToken cancellationToken = default) =>
        engine.CancelAsync(taskId, userId: null, cancellationToken);

    public IDisposable Subscribe(Action<TaskLifecycleEvent> listener) => events.Subscribe(listener);

    /// <summary>
    /// Cluster figures from every node's own: sums and answer-weighted means; cancel latency percentiles are the
    /// worst node's (an upper bound, never an optimistic blend). Database statements and transactions are totals since
    /// each node started, summed over the nodes.
    /// </summary>
    internal static AdminMetrics Aggregate(IReadOnlyList<MetricsSnapshot> nodes)
    {
        var answers = nodes.Sum(n => n.Answers);
        var attempts = nodes.Sum(n => n.CancelAttempts);
        var successes = nodes.Sum(n => (n.CancelFirstAttemptSuccessRate ?? 0) * n.CancelAttempts);
        return new AdminMetrics(
            answers,
            Weighted(nodes, n => n.RedisCommandsPerAnswer),
            Weighted(nodes, n => n.RedisRoundTripsPerAnswer),
            Weighted(nodes, n => n.OverheadMsPerAnswer),
            new LatencyMs(Max(nodes, n => n.CancelLatencyMs.P50), Max(nodes, n => n.CancelLatencyMs.P95), Max(nodes, n => n.CancelLatencyMs.P99)),
            attempts == 0 ? null : Math.Round(successes / attempts, 4),
            attempts,
            nodes.Sum(n => n.DatabaseStatements),
            nodes.Sum(n => n.DatabaseTransactions));
    }

    private static double? Weighted(IReadOnlyList<MetricsSnapshot> nodes, Func<MetricsSnapshot, double?> value)
    {
        var weighted = nodes.Where(n => value(n) is not null && n.Answers > 0).ToList();
        var total = weighted.Sum(n => n.Answers);
        return total == 0 ? null : Math.Round(weighted.Sum(n => value(n)!.Value * n.Answers) / total, 3);
    }

    private static double? Max(IReadOnlyList<MetricsSnapshot> nodes, Func<MetricsSnapshot, double?> value) =>
        nodes.Select(value).Where(v => v is not null).Select(v => Math.Round(v!.Value, 2)).DefaultIfEmpty().Max() is var max && max > 0 ? max : null;
}
