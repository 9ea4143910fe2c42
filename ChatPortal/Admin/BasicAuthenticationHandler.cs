using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using ChatPortal.Identity;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ChatPortal.Admin;

/// <summary>
/// HTTP Basic with the admin credentials, for <c>/api/admin/*</c>. A challenge is a 401 with WWW-Authenticate, or a
/// 429 with Retry-After while <see cref="SignInThrottle"/> holds this name or address back after failures.
/// </summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminCredentials credentials,
    SignInThrottle throttle)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";

    private const string Via = "HTTP Basic";
    private LimitDecision? _refused;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, SchemeName, StringComparison.OrdinalIgnoreCase)
            || string.IsNullOrEmpty(header.Parameter))
        {
            return AuthenticateResult.NoResult();
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
        }
        catch (FormatException)
        {
            return AuthenticateResult.Fail("Malformed Basic credentials.");
        }

        var colon = decoded.IndexOf(':');
        var userName = colon < 0 ? decoded : decoded[..colon];
        var address = ClientAddress.Of(Context);
        var check = await throttle.CheckAsync(userName, address, Via);
        if (!check.Decision.Allowed)
        {
            _refused = check.Decision;
            return AuthenticateResult.Fail("Too many failed sign-ins.");
        }

        if (colon < 0 || !credentials.Verify(userName, decoded[(colon + 1)..]))
        {
            await throttle.FailedAsync(userName, address, Via);
            return AuthenticateResult.Fail("Wrong admin credentials.");
        }

        await throttle.SucceededAsync(userName, check);
        var principal = UserIdentity.NewUser("admin", admin: true);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_refused is { } refused)
        {
            await SignInThrottle.WriteRefusalAsync(Context, refused);
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Basic realm=\"ChatPortal admin\", charset=\"UTF-8\"";
        await Results.Problem(
                detail: "Admin endpoints take the admin credentials by HTTP Basic.",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Unauthorized")
            .ExecuteAsync(Context);
    }
}
