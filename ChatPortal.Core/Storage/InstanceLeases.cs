using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// Leases of process instances, on the database's clock only (<c>DateTime.UtcNow</c> inside a query is the
/// server's <c>now()</c>): no two machines' clocks are ever compared.
/// </summary>
public sealed class InstanceLeases(IDbContextFactory<ChatPortalDbContext> contexts, DatabaseHealth health)
{
    public async Task RegisterAsync(string instanceId, string nodeId, CancellationToken cancellationToken = default)
    {
        await RunAsync(async db =>
        {
            var now = DateTime.UtcNow;
            db.Instances.Add(new InstanceRecord { Id = instanceId, NodeId = nodeId, StartedAt = now, RenewedAt = now });
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

            // The database's own time, not this machine's.
            await db.Instances.Where(i => i.Id == instanceId)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.StartedAt, i => DateTime.UtcNow).SetProperty(i => i.RenewedAt, i => DateTime.UtcNow), cancellationToken)
                .ConfigureAwait(false);
            return 0;
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Renews the lease and hands back the claims this instance holds, with their cancel requests. Null when
    /// the lease is gone: a janitor judged this instance dead, and every claim it had is lost.
    /// </summary>
    public Task<IReadOnlyList<HeldClaim>?> RenewAsync(string instanceId, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<HeldClaim>?>(async db =>
        {
            var renewed = await db.Instances.Where(i => i.Id == instanceId)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.RenewedAt, i => DateTime.UtcNow), cancellationToken).ConfigureAwait(false);
            if (renewed == 0)
            {
                return null;
            }

            return await db.Conversations.AsNoTracking().Where(c => c.ActiveInstanceId == instanceId)
                .Select(c => new HeldClaim(c.ActiveTaskId!, c.Fence, c.CancelRequested))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        });

    /// <summary>Claims whose owner's lease lapsed more than <paramref name="timeout"/> ago, or whose owner never had one.</summary>
    public Task<IReadOnlyList<ActiveAnswer>> FindAbandonedAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<ActiveAnswer>>(async db =>
        {
            var seconds = -timeout.TotalSeconds;
            return await db.Conversations.AsNoTracking()
                .Where(c => c.ActiveInstanceId != null && !db.Instances.Any(i => i.Id == c.ActiveInstanceId && i.RenewedAt > DateTime.UtcNow.AddSeconds(seconds)))
                .Select(c => new ActiveAnswer(c.ActiveTaskId!, c.Id, c.UserId, c.ActiveNode ?? "", c.ActiveInstanceId!,
                    new DateTimeOffset(DateTime.SpecifyKind(c.ActiveSince ?? c.UpdatedAt, DateTimeKind.Utc)), c.Fence, c.CancelRequested))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        });

    /// <summary>Forgets instances whose lease lapsed: one that wakes up finds its lease gone and knows its claims are lost.</summary>
    public Task<int> RemoveExpiredAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync(async db =>
        {
            var seconds = -timeout.TotalSeconds;
            return await db.Instances.Where(i => i.RenewedAt < DateTime.UtcNow.AddSeconds(seconds)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        });

    /// <summary>Live instances (renewed within <paramref name="timeout"/>), for the dashboard and the duplicate-NodeId warning.</summary>
    public Task<IReadOnlyList<InstanceRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<InstanceRecord>>(async db =>
        {
            var seconds = -timeout.TotalSeconds;
            return await db.Instances.AsNoTracking().Where(i => i.RenewedAt > DateTime.UtcNow.AddSeconds(seconds)).ToListAsync(cancellationToken).ConfigureAwait(false);
        });

    private async Task<T> RunAsync<T>(Func<ChatPortalDbContext, Task<T>> work)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync().ConfigureAwait(false);
            var result = await work(db).ConfigureAwait(false);
            health.ReportSuccess();
            return result;
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex))
        {
            health.ReportFailure(ex);
            throw new StoreUnavailableException("Renewing the lease", ex);
        }
    }
}

/// <summary>A claim this instance holds in the database.</summary>
public sealed record HeldClaim(string TaskId, long Fence, bool CancelRequested);
