using System.Globalization;

namespace ChatPortal.Core.Limits;

/// <summary>
/// <c>Limits:TokensPerUserPerDay</c> reached: what the user's answers used today (UTC) against the quota, and when it
/// resets. The count is the usage ledger in the database, checked when an answer starts (in the transaction that
/// claims the conversation, under the user's row lock), so it holds on every node; answers already running when the
/// quota is reached still end, so a user can pass it by at most what those answers use.
/// </summary>
public sealed record DailyTokenQuota(long Used, long Limit, DateTimeOffset ResetsAt)
{
    /// <summary>The next UTC midnight after <paramref name="now"/>.</summary>
    public static DateTimeOffset NextReset(DateTimeOffset now) => new(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);

    /// <summary>Seconds until the reset (at least 1), for <c>Retry-After</c>.</summary>
    public int RetryAfterSeconds(DateTimeOffset now) => Math.Max(1, (int)Math.Ceiling((ResetsAt - now).TotalSeconds));

    /// <summary>The sentence the API's problem details and the chat show.</summary>
    public string Describe(DateTimeOffset now)
    {
        var left = ResetsAt - now;
        var wait = left.TotalHours >= 1 ? $"{(int)left.TotalHours} h {left.Minutes} min" : $"{Math.Max(1, (int)Math.Ceiling(left.TotalMinutes))} min";
        return string.Create(CultureInfo.InvariantCulture,
            $"You have used {Used:N0} of your {Limit:N0} tokens for today. The quota resets at midnight UTC, in {wait}.");
    }
}
