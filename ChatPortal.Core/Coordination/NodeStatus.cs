using ChatPortal.Core.Telemetry;

namespace ChatPortal.Core.Coordination;

/// <summary>A node as the cluster sees it: from its last heartbeat (Redis mode) or from itself (single node).</summary>
public sealed record NodeStatus(
    string Id,
    DateTimeOffset LastSeen,
    int ActiveTasks,
    int Circuits,
    bool SubscriptionAlive,
    MetricsSnapshot? Metrics);

/// <summary>The nodes of the cluster, for the dashboard. The web layer sees only this, not how presence is kept.</summary>
public interface INodeDirectory
{
    Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken = default);
}

/// <summary>What this node serves right now besides answers (set by the web layer: its live circuits).</summary>
public sealed class NodeActivity
{
    public Func<int> Circuits { get; set; } = () => 0;
}
