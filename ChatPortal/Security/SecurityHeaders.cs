using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Options;

namespace ChatPortal.Security;

/// <summary>
/// Headers on every response, errors included (set when the response starts, after any handler cleared it):
/// nosniff, a strict referrer policy, no framing, and a Content-Security-Policy that Blazor Server and MudBlazor
/// run under: scripts only from this origin (plus the hash of Blazor's inline import map), inline styles (MudBlazor
/// sets them), connections (the Blazor WebSocket) only to this origin, images only from this origin and
/// <c>data:</c> unless <see cref="SecurityOptions.AllowExternalImages"/>.
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next, IOptions<SecurityOptions> options)
{
    private readonly string _policy = Policy(options.Value, scriptHash: null);
    private readonly Dictionary<string, string> _policiesByImportMap = [];
    private readonly Lock _gate = new();

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var (self, context) = ((SecurityHeaders, HttpContext))state;
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = self.PolicyFor(context);
            return Task.CompletedTask;
        }, (this, context));
        return next(context);
    }

    /// <summary>
    /// Blazor's <c>&lt;ImportMap /&gt;</c> renders the endpoint's import map as an inline script; the policy allows
    /// exactly that script by its hash (computed once per distinct map, i.e. once per build).
    /// </summary>
    private string PolicyFor(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ImportMapDefinition>() is not { } importMap)
        {
            return _policy;
        }

        var json = importMap.ToString(); // the JSON that <ImportMap /> renders
        lock (_gate)
        {
            if (!_policiesByImportMap.TryGetValue(json, out var policy))
            {
                var hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
                policy = Policy(options.Value, hash);
                if (_policiesByImportMap.Count < 16)
                {
                    _policiesByImportMap[json] = policy;
                }
            }

            return policy;
        }
    }

    internal static string Policy(SecurityOptions options, string? scriptHash)
    {
        var script = scriptHash is null ? "'self'" : $"'self' 'sha256-{scriptHash}'";
        var images = options.AllowExternalImages ? "'self' data: https:" : "'self' data:";
        var forms = string.Concat(options.FormActionOrigins.Select(origin => " " + origin));
        return $"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; img-src {images}; "
            + $"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'{forms}; frame-ancestors 'none'";
    }
}
