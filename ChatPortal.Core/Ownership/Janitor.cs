using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Storage;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core.Ownership;

/// <summary>
/// Records the answers of dead instances as failed and releases their claims, so no conversation stays
/// "generating" longer than the lease timeout after its owner died or froze. It judges on the database's
/// clock only, and only while this instance has itself renewed without a gap for a whole lease: a database
/// outage or a frozen janitor never turns every node into a judge of the others.
/// </summary>
public sealed partial class Janitor(
    LeaseKeeper keeper,
    InstanceLeases leases,
    DatabaseConversationStore store,
    ITaskCoordinator coordinator,
    NodeInstance instance,
    CoordinationHealth health,
    IOptions<ChatPortalOptions> options,
    ILogger<Janitor> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);
    public const string DeadOwnerReason = "The node generating this answer stopped before it finished.";

    /// <summary>One SQLite file serves one node: any other instance in it is a previous run of this node.</summary>
    private bool SingleNode => options.Value.Database.Provider == DatabaseProvider.Sqlite;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                Log.Unavailable(logger, ex);
            }
            catch (Exception ex)
            {
                Log.Failed(logger, ex);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (!SingleNode && !keeper.RenewedWithoutGapFor(LeaseKeeper.LeaseTimeout))
        {
            return;
        }

        var abandoned = await leases.FindAbandonedAsync(SingleNode ? TimeSpan.Zero : LeaseKeeper.LeaseTimeout, cancellationToken).ConfigureAwait(false);
        foreach (var answer in abandoned.Where(a => a.Instance != instance.Id))
        {
            if (await store.ReleaseAbandonedAsync(answer, DeadOwnerReason, cancellationToken).ConfigureAwait(false))
            {
                Log.Released(logger, answer.TaskId, answer.Node, answer.Instance);
                coordinator.AnnounceEnded(TaskStates.ToInfo(answer), new TaskEnded(GenerationStatus.Failed, DeadOwnerReason), 0, null);
            }
        }

        await leases.RemoveExpiredAsync(LeaseKeeper.LeaseTimeout, cancellationToken).ConfigureAwait(false);

        // Two live instances under one NodeId: two processes configured alike, a loud operator error.
        var live = await leases.ListLiveAsync(LeaseKeeper.RenewInterval * 1.5, cancellationToken).ConfigureAwait(false);
        // Both renewing since the later one started: a node killed and restarted at once under its name is not two.
        var duplicates = live.GroupBy(i => i.NodeId)
            .Where(g => g.Count(i => i.RenewedAt > g.Max(x => x.StartedAt)) > 1)
            .Select(g => g.Key).OrderBy(n => n, StringComparer.Ordinal).ToList();
        foreach (var nodeId in duplicates)
        {
            Log.DuplicateNodeId(logger, nodeId);
        }

        health.SetDuplicateNodeIds(duplicates);
    }

    private static partial class Log
    {
        [LoggerMessage(4101, LogLevel.Warning, "Released task {TaskId} of node {Node} (instance {Instance}, lease lapsed): recorded as failed.")]
        public static partial void Released(ILogger logger, string taskId, string node, string instance);

        [LoggerMessage(4102, LogLevel.Debug, "The janitor skipped a sweep: the database is unreachable.")]
        public static partial void Unavailable(ILogger logger, Exception exception);

        [LoggerMessage(4103, LogLevel.Error, "The janitor's sweep failed.")]
        public static partial void Failed(ILogger logger, Exception exception);

        [LoggerMessage(4104, LogLevel.Critical, "Two live instances use NodeId {NodeId}: give every node its own ChatPortal:NodeId.")]
        public static partial void DuplicateNodeId(ILogger logger, string nodeId);
    }
}
