using ChatPortal.Core.Conversations;
using ChatPortal.Core.Usage;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>The usage ledger (<c>answer_usage</c>) summed in the database: a few grouped queries per report, whatever the traffic.</summary>
public sealed class DatabaseUsageReports(IDbContextFactory<ChatPortalDbContext> contexts, DatabaseHealth health, TimeProvider time) : IUsageReports
{
    public async Task<UsageReport> GetAsync(DateOnly from, DateOnly to, int maxUsers, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var period = db.Usage.AsNoTracking().Where(u => u.Day >= from && u.Day <= to);

            var byModel = (await period.GroupBy(u => u.ModelId)
                .Select(g => new
                {
                    g.Key,
                    Input = g.Sum(u => (long)u.InputTokens),
                    Output = g.Sum(u => (long)u.OutputTokens),
                    Answers = g.Count(),
                    Stopped = g.Sum(u => u.Status == MessageStatus.Cancelled ? 1 : 0),
                    Failed = g.Sum(u => u.Status == MessageStatus.Failed ? 1 : 0),
                })
                .ToListAsync(cancellationToken).ConfigureAwait(false))
                .Select(r => new Row<string?>(r.Key, r.Input, r.Output, r.Answers, r.Stopped, r.Failed))
                .ToList();

            var byUser = (await period.GroupBy(u => u.UserId)
                .Select(g => new
                {
                    g.Key,
                    Input = g.Sum(u => (long)u.InputTokens),
                    Output = g.Sum(u => (long)u.OutputTokens),
                    Answers = g.Count(),
                    Stopped = g.Sum(u => u.Status == MessageStatus.Cancelled ? 1 : 0),
                    Failed = g.Sum(u => u.Status == MessageStatus.Failed ? 1 : 0),
                })
                .OrderByDescending(r => r.Input + r.Output)
                .ThenBy(r => r.Key)
                .Take(maxUsers)
                .ToListAsync(cancellationToken).ConfigureAwait(false))
                .Select(r => new Row<string>(r.Key, r.Input, r.Output, r.Answers, r.Stopped, r.Failed))
                .ToList();
            var userCount = await period.Select(u => u.UserId).Distinct().CountAsync(cancellationToken).ConfigureAwait(false);

            var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
            var ids = byUser.Select(u => u.Key).ToList();
            var usedToday = await db.Usage.AsNoTracking().Where(u => u.Day == today && ids.Contains(u.UserId))
                .GroupBy(u => u.UserId)
                .Select(g => new { g.Key, Tokens = g.Sum(u => (long)u.InputTokens + u.OutputTokens) })
                .ToDictionaryAsync(r => r.Key, r => r.Tokens, cancellationToken).ConfigureAwait(false);

            var byDay = await period.GroupBy(u => new { u.Day, u.ModelId })
                .Select(g => new { g.Key.Day, g.Key.ModelId, Tokens = g.Sum(u => (long)u.InputTokens + u.OutputTokens), Answers = g.Count() })
                .ToListAsync(cancellationToken).ConfigureAwait(false);

            health.ReportSuccess();
            return new UsageReport(
                from,
                to,
                byModel.Aggregate(UsageTotals.Zero, (sum, r) => new UsageTotals(sum.InputTokens + r.Input, sum.OutputTokens + r.Output, sum.Answers + r.Answers, sum.Stopped + r.Stopped, sum.Failed + r.Failed)),
                [.. byUser.Select(r => new UserUsage(r.Key, r.Totals, usedToday.GetValueOrDefault(r.Key)))],
                userCount,
                [.. byModel.OrderByDescending(r => r.Input + r.Output).Select(r => new ModelUsage(r.Key ?? "", r.Totals))],
                [.. byDay.OrderBy(r => r.Day).ThenBy(r => r.ModelId).Select(r => new DailyUsage(r.Day, r.ModelId ?? "", r.Tokens, r.Answers))]);
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            health.ReportFailure(ex);
            throw new StoreUnavailableException("Reading usage", ex);
        }
    }

    public async Task<long> TokensUsedAsync(string userId, DateOnly day, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var used = await DatabaseConversationStore.UsedOnAsync(db, userId, day, cancellationToken).ConfigureAwait(false);
            health.ReportSuccess();
            return used;
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            health.ReportFailure(ex);
            throw new StoreUnavailableException("Reading usage", ex);
        }
    }

    private sealed record Row<TKey>(TKey Key, long Input, long Output, int Answers, int Stopped, int Failed)
    {
        public UsageTotals Totals => new(Input, Output, Answers, Stopped, Failed);
    }
}
