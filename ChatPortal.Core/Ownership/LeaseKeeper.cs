using ChatPortal.Core.Conversations;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Storage;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Core.Ownership;

/// <summary>
/// Keeps this process's lease in the database: one renewal every <see cref="RenewInterval"/>, which also hands
/// back the claims it holds. From that one answer it stops tasks whose claim is gone (a frozen node that woke up
/// after it was judged dead), trips tasks whose Stop was recorded while pub/sub could not deliver it, and
/// releases claims it holds for tasks it no longer runs. Its start prepares the database (migrations) and
/// registers the instance before the node serves anything.
/// </summary>
public sealed partial class LeaseKeeper(
    DatabaseInitializer initializer,
    InstanceLeases leases,
    DatabaseConversationStore store,
    LocalTaskRegistry registry,
    ITaskCoordinator coordinator,
    NodeInstance instance,
    NodeIdentity node,
    ILogger<LeaseKeeper> logger) : BackgroundService
{
    public static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(2);

    /// <summary>A lease not renewed for this long is lapsed: its instance is dead to the cluster.</summary>
    public static readonly TimeSpan LeaseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A longer gap between two of this instance's renewals breaks its streak. Half a lease: a gap shorter than
    /// that cannot have let a live peer's lease lapse (peers renew every 2 s), so a slow renewal on a loaded
    /// machine does not silence every janitor, while a real outage or freeze still does.
    /// </summary>
    private static readonly TimeSpan MaxGap = LeaseTimeout / 2;

    private readonly SemaphoreSlim _renewNow = new(0, 1);
    private HashSet<string> _orphansSeen = [];
    private long _lastRenewal;
    private long _streakStart;

    /// <summary>
    /// True when this instance renewed without a gap for at least <paramref name="span"/> and recently: only then
    /// may it judge others (a node that was itself frozen or cut off must not).
    /// </summary>
    public bool RenewedWithoutGapFor(TimeSpan span)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastRenewal);
        return last != 0 && now - last < MaxGap.TotalMilliseconds && now - Interlocked.Read(ref _streakStart) >= span.TotalMilliseconds;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await initializer.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await leases.RegisterAsync(instance.Id, node.Id, cancellationToken).ConfigureAwait(false);
        MarkRenewed();
        Log.Registered(logger, instance.Id, node.Id);
        if (coordinator is Redis.RedisTaskCoordinator redis)
        {
            // Stops published while the subscription was down are read back from the database at once.
            redis.Resubscribed += RenewSoon;
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks for a renewal now rather than at the next tick.</summary>
    public void RenewSoon()
    {
        try
        {
            _renewNow.Release();
        }
        catch (SemaphoreFullException)
        {
            // One is pending already.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _renewNow.WaitAsync(RenewInterval, stoppingToken).ConfigureAwait(false);
                await RenewAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreUnavailableException ex)
            {
                Log.RenewalFailed(logger, ex);
            }
            catch (Exception ex)
            {
                Log.Failed(logger, ex);
            }
        }
    }

    internal async Task RenewAsync(CancellationToken cancellationToken)
    {
        var queried = Environment.TickCount64;
        var held = await leases.RenewAsync(instance.Id, cancellationToken).ConfigureAwait(false);
        if (held is null)
        {
            await LeaseLostAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        MarkRenewed();
        var claims = held.ToDictionary(c => c.TaskId, StringComparer.Ordinal);
        foreach (var task in registry.All)
        {
            // Only tasks whose claim was stored before the claims were read can be judged by them.
            if (task.Status != GenerationStatus.Running || task.ClaimedAt == 0 || task.ClaimedAt >= queried)
            {
                continue;
            }

            if (!claims.TryGetValue(task.Id, out var claim) || claim.Fence != task.Fence)
            {
                Log.ClaimLost(logger, task.Id);
                task.LoseClaim();
            }
            else if (claim.CancelRequested && task.RequestCancel())
            {
                Log.CancelFromDatabase(logger, task.Id);
            }
        }

        // Claims this instance holds for tasks it no longer runs (a start or a commit that failed half-way):
        // seen twice in a row, they are released with a failed record, so no conversation stays "generating".
        var orphans = held.Where(c => registry.Find(c.TaskId) is null).Select(c => c.TaskId).ToHashSet(StringComparer.Ordinal);
        foreach (var taskId in orphans.Where(_orphansSeen.Contains))
        {
            if (Ids.TryGetConversationId(taskId, out var conversationId)
                && await store.FindActiveAnswerAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } active
                && active.TaskId == taskId && active.Instance == instance.Id
                && await store.ReleaseAbandonedAsync(active, "The answer could not be stored.", cancellationToken).ConfigureAwait(false))
            {
                Log.OrphanReleased(logger, taskId);
                coordinator.AnnounceEnded(TaskStates.ToInfo(active), new TaskEnded(GenerationStatus.Failed, "The answer could not be stored."), 0, null);
            }
        }

        _orphansSeen = orphans;
    }

    /// <summary>A janitor judged this instance dead: every claim it held is gone. Stop them; serve on as a new instance.</summary>
    private async Task LeaseLostAsync(CancellationToken cancellationToken)
    {
        var old = instance.Id;
        var running = registry.All.Where(t => t.Status == GenerationStatus.Running).ToList();
        foreach (var task in running)
        {
            task.LoseClaim();
        }

        var renewed = instance.Renew();
        Log.LeaseLost(logger, old, running.Count, renewed);
        await leases.RegisterAsync(renewed, node.Id, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _streakStart, Environment.TickCount64);
        MarkRenewed();
    }

    private void MarkRenewed()
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Exchange(ref _lastRenewal, now);
        if (last == 0 || now - last > MaxGap.TotalMilliseconds)
        {
            Interlocked.Exchange(ref _streakStart, now); // a gap: the streak starts over
        }
    }

    public override void Dispose()
    {
        _renewNow.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Information, "Instance {Instance} of node {Node} holds a lease.")]
        public static partial void Registered(ILogger logger, string instance, string node);

        [LoggerMessage(4002, LogLevel.Warning, "The lease could not be renewed; retrying.")]
        public static partial void RenewalFailed(ILogger logger, Exception exception);

        [LoggerMessage(4003, LogLevel.Warning, "Task {TaskId} lost its claim (this node was judged unresponsive): it stops and writes nothing.")]
        public static partial void ClaimLost(ILogger logger, string taskId);

        [LoggerMessage(4004, LogLevel.Information, "Task {TaskId} stopped by its Stop recorded in the database.")]
        public static partial void CancelFromDatabase(ILogger logger, string taskId);

        [LoggerMessage(4005, LogLevel.Error, "The lease of instance {Instance} lapsed and was taken away: {Count} answers stop, and the node goes on as instance {NewInstance}.")]
        public static partial void LeaseLost(ILogger logger, string instance, int count, string newInstance);

        [LoggerMessage(4006, LogLevel.Warning, "Released the claim of task {TaskId}, which this node no longer runs.")]
        public static partial void OrphanReleased(ILogger logger, string taskId);

        [LoggerMessage(4007, LogLevel.Error, "The lease renewal failed.")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
