using ChatPortal.Core.Conversations;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Hosting;

/// <summary>
/// Storage failures as problem details, never a 500: the database unreachable is 503 with a Retry-After
/// (the client retries; nothing was half-stored, each change is one transaction); a constraint the request
/// broke is 409. Redis failing a request that needs it (rare: most paths degrade without it) is 503 too.
/// </summary>
internal sealed class StoreFailureHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            StoreUnavailableException => (StatusCodes.Status503ServiceUnavailable, "Database unavailable", exception.Message),
            DbUpdateException => (StatusCodes.Status409Conflict, "Conflicting change", "The change conflicts with the stored data (it may have been made already); reload and try again."),
            StackExchange.Redis.RedisException => (StatusCodes.Status503ServiceUnavailable, "Shared state unavailable",
                "The cluster's fast bus (Redis) did not answer in time; nothing was changed. Try again in a moment."),
            _ => (0, "", ""),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "2";
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
