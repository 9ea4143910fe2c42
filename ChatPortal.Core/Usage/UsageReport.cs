namespace ChatPortal.Core.Usage;

/// <summary>Tokens and answers over a period. <see cref="Stopped"/> and <see cref="Failed"/> are answers too.</summary>
public sealed record UsageTotals(long InputTokens, long OutputTokens, int Answers, int Stopped, int Failed)
{
    public static readonly UsageTotals Zero = new(0, 0, 0, 0, 0);

    public long Tokens => InputTokens + OutputTokens;
}

/// <param name="TokensToday">What the user used today (UTC), the figure the daily quota counts.</param>
public sealed record UserUsage(string UserId, UsageTotals Totals, long TokensToday);

public sealed record ModelUsage(string ModelId, UsageTotals Totals);

public sealed record DailyUsage(DateOnly Day, string ModelId, long Tokens, int Answers);

/// <summary>Usage of every answer ended from <see cref="From"/> to <see cref="To"/> (UTC days, both included).</summary>
/// <param name="Users">The heaviest users first, at most the number asked for.</param>
/// <param name="UserCount">Users with any answer in the period (also those past the list).</param>
public sealed record UsageReport(
    DateOnly From,
    DateOnly To,
    UsageTotals Totals,
    IReadOnlyList<UserUsage> Users,
    int UserCount,
    IReadOnlyList<ModelUsage> Models,
    IReadOnlyList<DailyUsage> Days);

/// <summary>
/// What answers used, from the usage ledger in the database: one row per ended answer, kept when its conversation is
/// cleared, regenerated or deleted, so the figures and the daily quota cannot be reset by deleting history.
/// </summary>
public interface IUsageReports
{
    Task<UsageReport> GetAsync(DateOnly from, DateOnly to, int maxUsers, CancellationToken cancellationToken = default);

    /// <summary>Tokens the user's answers used on <paramref name="day"/> (UTC).</summary>
    Task<long> TokensUsedAsync(string userId, DateOnly day, CancellationToken cancellationToken = default);
}
