using ChatPortal.Core.Limits;
using ChatPortal.Core.Configuration;
using Microsoft.Extensions.Options;

namespace ChatPortal.Security;

/// <summary>The answer of a limit check: go ahead, or wait <see cref="RetryAfter"/>.</summary>
public readonly record struct LimitDecision(bool Allowed, TimeSpan RetryAfter, string? Reason)
{
    public static LimitDecision Allow => new(true, TimeSpan.Zero, null);

    /// <summary>Whole seconds for a <c>Retry-After</c> header (at least 1).</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}

/// <summary>
/// <c>Limits:MessagesPerMinute</c> per user and <c>Limits:MessagesPerMinutePerAddress</c> per client address,
/// cluster-wide: the API's <c>POST …/messages</c> and the chat page both ask here before starting an answer.
/// </summary>
public interface IMessageLimiter
{
    /// <summary>Counts one message of <paramref name="userId"/> from <paramref name="clientAddress"/> (empty: address unknown, only the per-user limit).</summary>
    Task<LimitDecision> TryAcquireAsync(string userId, string clientAddress);
}

/// <inheritdoc />
public sealed class MessageLimiter(LimitCounters counters, IOptionsMonitor<ChatPortalOptions> options, ILogger<MessageLimiter> logger) : IMessageLimiter
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public async Task<LimitDecision> TryAcquireAsync(string userId, string clientAddress)
    {
        var limits = options.CurrentValue.Limits;
        var counts = clientAddress.Length == 0
            ? await counters.HitAsync([counters.Keys.UserMessages(userId)], [limits.MessagesPerMinute], Window)
            : await counters.HitAsync([counters.Keys.UserMessages(userId), counters.Keys.AddressMessages(clientAddress)], [limits.MessagesPerMinute, limits.MessagesPerMinutePerAddress], Window);
        var user = counts[0];
        var address = counts.Length > 1 ? counts[1] : (Count: 0L, Left: TimeSpan.Zero);
        LimitDecision decision;
        if (user.Count > limits.MessagesPerMinute)
        {
            decision = new LimitDecision(false, user.Left, $"You sent more than {limits.MessagesPerMinute} messages in a minute.");
        }
        else if (address.Count > limits.MessagesPerMinutePerAddress)
        {
            decision = new LimitDecision(false, address.Left, $"More than {limits.MessagesPerMinutePerAddress} messages came from your network address in a minute.");
        }
        else
        {
            return LimitDecision.Allow;
        }

        SecurityLog.MessagesLimited(logger, userId, clientAddress, user.Count > limits.MessagesPerMinute ? "per-user" : "per-address", decision.RetryAfterSeconds);
        return decision;
    }
}
