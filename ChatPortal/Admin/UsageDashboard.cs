using ChatPortal.Core.Configuration;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Usage;
using Microsoft.Extensions.Options;

namespace ChatPortal.Admin;

/// <summary>The periods the usage page and <c>GET /api/admin/usage?range=</c> offer: today, or the last 7 or 30 UTC days with today.</summary>
public enum UsagePeriod
{
    Today,
    Week,
    Month,
}

/// <summary><c>GET /api/admin/usage</c>: usage over a period, by user and by model, with the daily quota for comparison.</summary>
/// <param name="Range"><c>today</c>, <c>7d</c> or <c>30d</c>.</param>
/// <param name="TokensPerUserPerDay">The configured quota; 0 = none.</param>
public sealed record AdminUsage(
    string Range,
    DateOnly From,
    DateOnly To,
    long TokensPerUserPerDay,
    AdminUsageTotals Totals,
    IReadOnlyList<AdminUserUsage> Users,
    int UserCount,
    IReadOnlyList<AdminModelUsage> Models,
    IReadOnlyList<AdminDailyUsage> Days);

public sealed record AdminUsageTotals(long Tokens, long InputTokens, long OutputTokens, int Answers, int Stopped, int Failed)
{
    public static AdminUsageTotals From(UsageTotals t) => new(t.Tokens, t.InputTokens, t.OutputTokens, t.Answers, t.Stopped, t.Failed);
}

/// <param name="TokensToday">What the user used today (UTC): the figure the quota counts.</param>
public sealed record AdminUserUsage(string UserId, AdminUsageTotals Totals, long TokensToday);

/// <param name="Name">The display name of the model, or its id once it is no longer configured.</param>
public sealed record AdminModelUsage(string ModelId, string Name, AdminUsageTotals Totals);

public sealed record AdminDailyUsage(DateOnly Day, string ModelId, long Tokens, int Answers);

/// <summary>Reads the usage ledger for the admin page and API.</summary>
public sealed class UsageDashboard(IUsageReports reports, ModelCatalog models, IOptions<ChatPortalOptions> options, TimeProvider time)
{
    /// <summary>The heaviest users listed (the rest are counted in <see cref="AdminUsage.UserCount"/>).</summary>
    public const int MaxUsers = 50;

    public static bool TryParsePeriod(string? range, out UsagePeriod period)
    {
        (var ok, period) = range?.ToLowerInvariant() switch
        {
            null or "" or "7d" => (true, UsagePeriod.Week),
            "today" or "1d" => (true, UsagePeriod.Today),
            "30d" => (true, UsagePeriod.Month),
            _ => (false, UsagePeriod.Week),
        };
        return ok;
    }

    public static string Name(UsagePeriod period) => period switch
    {
        UsagePeriod.Today => "today",
        UsagePeriod.Month => "30d",
        _ => "7d",
    };

    public async Task<AdminUsage> GetAsync(UsagePeriod period, CancellationToken cancellationToken = default)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var from = today.AddDays(period switch { UsagePeriod.Today => 0, UsagePeriod.Month => -29, _ => -6 });
        var report = await reports.GetAsync(from, today, MaxUsers, cancellationToken);
        return new AdminUsage(
            Name(period),
            from,
            today,
            options.Value.Limits.TokensPerUserPerDay,
            AdminUsageTotals.From(report.Totals),
            [.. report.Users.Select(u => new AdminUserUsage(u.UserId, AdminUsageTotals.From(u.Totals), u.TokensToday))],
            report.UserCount,
            [.. report.Models.Select(m => new AdminModelUsage(m.ModelId, models.DisplayName(m.ModelId), AdminUsageTotals.From(m.Totals)))],
            [.. report.Days.Select(d => new AdminDailyUsage(d.Day, d.ModelId, d.Tokens, d.Answers))]);
    }
}
