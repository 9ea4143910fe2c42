using ChatPortal.Identity;
using Microsoft.AspNetCore.RateLimiting;

namespace ChatPortal.Security;

/// <summary>
/// Applies <see cref="IMessageLimiter"/> to endpoints marked <c>RequireRateLimiting("messages")</c>
/// (<c>POST /api/conversations/{id}/messages</c>): 429 problem details with <c>Retry-After</c> beyond a limit.
/// ASP.NET's own rate limiter keeps a no-op policy of that name; its limits live on one node only.
/// </summary>
public sealed class MessageLimitMiddleware(RequestDelegate next, IMessageLimiter limiter)
{
    public const string PolicyName = "messages";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName != PolicyName
            || context.User.GetUserId() is not { } userId)
        {
            await next(context);
            return;
        }

        var decision = await limiter.TryAcquireAsync(userId, ClientAddress.Of(context));
        if (decision.Allowed)
        {
            await next(context);
            return;
        }

        context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Results.Problem(
                detail: $"Too many messages: {decision.Reason} Wait {decision.RetryAfterSeconds} s before sending again.",
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "Too many messages")
            .ExecuteAsync(context);
    }
}

/// <summary>
/// The message limits for a Blazor page (scoped: one per circuit). The page has no request of its own, so the
/// client address is the one of the request that opened the circuit (after forwarded headers); where none is
/// known only the per-user limit applies. Call <see cref="TryAcquireAsync"/> before starting an answer.
/// </summary>
public sealed class PageMessageLimits(IMessageLimiter limiter, IHttpContextAccessor accessor)
{
    private readonly string? _address = accessor.HttpContext is { } context ? ClientAddress.Of(context) : null;

    public Task<LimitDecision> TryAcquireAsync(string userId) =>
        limiter.TryAcquireAsync(userId, _address ?? "");
}
