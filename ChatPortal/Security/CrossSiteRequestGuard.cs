namespace ChatPortal.Security;

/// <summary>
/// Refuses, with 403 problem details and before identity, antiforgery or any endpoint runs, every unsafe request
/// (POST, PUT, PATCH, DELETE) that a browser marks as coming from another site:
/// <list type="bullet">
/// <item><c>Sec-Fetch-Site: cross-site</c>;</item>
/// <item><c>Sec-Fetch-Site: same-site</c> (a sibling subdomain, which may host someone else's content) unless its
/// <c>Origin</c> is exactly this site's;</item>
/// <item>an <c>Origin</c> whose scheme, host and port differ from the request's own (after forwarded headers from
/// trusted balancers), <c>Origin: null</c> included.</item>
/// </list>
/// Clients that send neither header (API clients, curl) are not browsers being abused and pass.
/// </summary>
public sealed class CrossSiteRequestGuard(RequestDelegate next, ILogger<CrossSiteRequestGuard> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (IsSafe(request.Method))
        {
            return next(context);
        }

        var fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        var origin = request.Headers.Origin.ToString();
        var own = OwnOrigin(request);
        var originMatches = origin.Length > 0 && string.Equals(origin.TrimEnd('/'), own, StringComparison.OrdinalIgnoreCase);
        var refused =
            string.Equals(fetchSite, "cross-site", StringComparison.OrdinalIgnoreCase)
            || (string.Equals(fetchSite, "same-site", StringComparison.OrdinalIgnoreCase) && !originMatches)
            || (origin.Length > 0 && !originMatches);
        if (!refused)
        {
            return next(context);
        }

        SecurityLog.CrossSiteRefused(logger, request.Method, request.Path, ClientAddress.Of(context), fetchSite, origin, own);
        return Results.Problem(
                detail: "Cross-site requests that change data are refused. If this is your own site behind a balancer, "
                    + $"list the balancer in {SecurityOptions.SectionName}:TrustedProxies so the node sees the scheme and host the browser used.",
                statusCode: StatusCodes.Status403Forbidden,
                title: "Cross-site request refused")
            .ExecuteAsync(context);
    }

    public static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);

    /// <summary><c>scheme://host[:port]</c> as the browser sees this site; default ports are left out, as browsers do.</summary>
    internal static string OwnOrigin(HttpRequest request)
    {
        var host = request.Host;
        var defaultPort = request.IsHttps ? 443 : 80;
        var authority = host.Port is { } port && port != defaultPort ? $"{host.Host}:{port}" : host.Host;
        return $"{request.Scheme}://{authority}";
    }
}
