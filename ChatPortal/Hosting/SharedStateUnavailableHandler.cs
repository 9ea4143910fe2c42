using ChatPortal.Core.Coordination;
using Microsoft.AspNetCore.Diagnostics;

namespace ChatPortal.Hosting;

/// <summary>Shared state unreachable and no local copy: 503 with a Retry-After, never a 500 or a false 404.</summary>
internal sealed class SharedStateUnavailableHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not SharedStateUnavailableException)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "2";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Shared state unreachable",
                Detail = exception.Message,
            },
        });
    }
}
