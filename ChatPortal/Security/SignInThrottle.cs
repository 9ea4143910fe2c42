using ChatPortal.Core.Limits;
using Microsoft.Extensions.Options;

namespace ChatPortal.Security;

/// <summary>
/// Slows down guessing of the admin credentials, on the sign-in form and on HTTP Basic alike, cluster-wide: per
/// account name and per client address, after <c>SignIn:FreeFailures</c> failures each further attempt waits
/// 1 s, 2 s, 4 s, … up to <c>SignIn:MaxBackoffSeconds</c> (429 with <c>Retry-After</c>). Attempts during a wait are
/// refused without checking the password and without counting, so the real admin waits at most one step once the
/// guessing stops; a success clears the account's failures. Every failure is logged with name and address.
/// </summary>
public sealed class SignInThrottle(LimitCounters counters, IOptionsMonitor<SecurityOptions> options, ILogger<SignInThrottle> logger)
{
    /// <summary>Before checking credentials: may this name try from this address now?</summary>
    public async Task<SignInCheck> CheckAsync(string? userName, string clientAddress, string via)
    {
        var name = userName ?? "";
        var states = await counters.BlockedAsync(Keys(name, clientAddress));
        var blocked = states.Max(s => s.Blocked);
        var accountFailures = states[0].Failures > 0;
        if (blocked <= TimeSpan.Zero)
        {
            return new SignInCheck(LimitDecision.Allow, accountFailures);
        }

        var decision = new LimitDecision(false, blocked, "Too many failed sign-ins.");
        SecurityLog.SignInThrottled(logger, Shown(name), clientAddress, decision.RetryAfterSeconds, via);
        return new SignInCheck(decision, accountFailures);
    }

    public async Task FailedAsync(string? userName, string clientAddress, string via)
    {
        var name = userName ?? "";
        SecurityLog.SignInFailed(logger, Shown(name), clientAddress, via);
        var throttle = options.CurrentValue.SignIn;
        await counters.FailAsync(Keys(name, clientAddress), TimeSpan.FromSeconds(throttle.WindowSeconds), throttle.FreeFailures, TimeSpan.FromSeconds(throttle.MaxBackoffSeconds));
    }

    /// <summary>The account's failures are forgotten; the address keeps its own (it may be guessing other names).</summary>
    public Task SucceededAsync(string userName, SignInCheck check) =>
        check.AccountHadFailures ? counters.ResetAsync(counters.Keys.SignInAccount(userName)) : Task.CompletedTask;

    /// <summary>Answers a refused attempt: 429 problem details with <c>Retry-After</c>.</summary>
    public static Task WriteRefusalAsync(HttpContext context, LimitDecision decision)
    {
        context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Problem(
                detail: $"Too many failed sign-ins: wait {decision.RetryAfterSeconds} s before trying again.",
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too many sign-in attempts")
            .ExecuteAsync(context);
    }

    private StackExchange.Redis.RedisKey[] Keys(string name, string address) =>
        [counters.Keys.SignInAccount(name), counters.Keys.SignInAddress(address)];

    /// <summary>A user name as logged: bounded, one line.</summary>
    private static string Shown(string name) =>
        new(name.Take(64).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}

/// <summary>The throttle's answer before a sign-in: the decision, and whether the account has failures to clear on success.</summary>
public readonly record struct SignInCheck(LimitDecision Decision, bool AccountHadFailures);
