using ChatPortal.Core.Tasks;
using ChatPortal.Core.Telemetry;

namespace ChatPortal.Core.Coordination;

/// <summary>One node: the directory is this node alone.</summary>
public sealed class SingleNodeDirectory(NodeIdentity node, LocalTaskRegistry registry, NodeActivity activity, CoordinationHealth health, ChatPortalMetrics metrics) : INodeDirectory
{
    public Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<NodeStatus>>([new NodeStatus(node.Id, DateTimeOffset.UtcNow, registry.Count, activity.Circuits(), health.SubscriptionAlive, metrics.Snapshot())]);
}
