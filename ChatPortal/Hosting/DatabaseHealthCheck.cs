using System.Diagnostics;
using ChatPortal.Core.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatPortal.Hosting;

/// <summary>/readyz: Unhealthy (503) while the database does not answer: new answers are refused until it is back.</summary>
internal sealed class DatabaseHealthCheck(IDbContextFactory<ChatPortalDbContext> contexts, DatabaseHealth health) : IHealthCheck
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Patience);
        try
        {
            var started = Stopwatch.GetTimestamp();
            await using var db = await contexts.CreateDbContextAsync(timeout.Token);
            await db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            health.ReportSuccess();
            return HealthCheckResult.Healthy($"The {health.Provider} database answers.", new Dictionary<string, object> { ["pingMs"] = Math.Round(ms, 2) });
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) || ex is OperationCanceledException)
        {
            health.ReportFailure(ex);
            return HealthCheckResult.Unhealthy($"The {health.Provider} database is unreachable: new messages are refused until it is back; running answers are kept in memory.", ex);
        }
    }
}
