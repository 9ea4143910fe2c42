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
