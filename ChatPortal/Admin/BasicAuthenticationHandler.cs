using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using ChatPortal.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ChatPortal.Admin;

/// <summary>HTTP Basic with the admin credentials, for <c>/api/admin/*</c>. A challenge is a 401 with WWW-Authenticate.</summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminCredentials credentials)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, SchemeName, StringComparison.OrdinalIgnoreCase)
            || string.IsNullOrEmpty(header.Parameter))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
        }
        catch (FormatException)
        {
            return Task.FromResult(AuthenticateResult.Fail("Malformed Basic credentials."));
        }

        var colon = decoded.IndexOf(':');
        if (colon < 0 || !credentials.Verify(decoded[..colon], decoded[(colon + 1)..]))
        {
            return Task.FromResult(AuthenticateResult.Fail("Wrong admin credentials."));
        }

        var principal = UserIdentity.NewUser("admin", admin: true);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Basic realm=\"ChatPortal admin\", charset=\"UTF-8\"";
        await Results.Problem(
                detail: "Admin endpoints take the admin credentials by HTTP Basic.",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Unauthorized")
            .ExecuteAsync(Context);
    }
}
