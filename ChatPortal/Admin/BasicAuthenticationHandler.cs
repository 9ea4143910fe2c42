using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using ChatPortal.Accounts;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace ChatPortal.Admin;

/// <summary>
/// HTTP Basic for <c>/api/admin/*</c>: the user name and password of an account with the admin role (the configured
/// <c>Admin:*</c> credentials are one, see <see cref="AdminAccountSeeder"/>). A challenge is a 401 with
/// WWW-Authenticate, or a 429 with Retry-After while <see cref="SignInThrottle"/> holds this name or address back
/// after failures. Wrong passwords also count toward the account's lockout, in the database.
/// </summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    SignInManager<UserRecord> signIn,
    BasicCredentialCache verified,
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

        if (colon < 0)
        {
            await throttle.FailedAsync(userName, address, Via);
            return AuthenticateResult.Fail("Wrong admin credentials.");
        }

        var users = signIn.UserManager;
        var presented = Request.Headers.Authorization.ToString();
        if (verified.Find(presented) is { } known
            && await users.FindByIdAsync(known.UserId) is { } knownUser
            && knownUser.SecurityStamp == known.SecurityStamp
            && !await users.IsLockedOutAsync(knownUser)
            && await users.IsInRoleAsync(knownUser, UserIdentity.AdminRole))
        {
            return await SuccessAsync(knownUser);
        }

        verified.Forget(presented);
        var user = await users.FindByNameAsync(userName);
        var result = user is null ? Microsoft.AspNetCore.Identity.SignInResult.Failed : await signIn.CheckPasswordSignInAsync(user, decoded[(colon + 1)..], lockoutOnFailure: true);
        if (!result.Succeeded || user is null || !await users.IsInRoleAsync(user, UserIdentity.AdminRole))
        {
            await throttle.FailedAsync(userName, address, Via);
            return AuthenticateResult.Fail(result.IsLockedOut ? "The account is locked." : "Wrong admin credentials.");
        }

        await throttle.SucceededAsync(userName, check);
        verified.Remember(presented, new VerifiedCredentials(user.Id, user.SecurityStamp));
        return await SuccessAsync(user);
    }

    private async Task<AuthenticateResult> SuccessAsync(UserRecord user)
    {
        var principal = await signIn.CreateUserPrincipalAsync(user);
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
                detail: "Admin endpoints take an admin account's user name and password by HTTP Basic.",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Unauthorized")
            .ExecuteAsync(Context);
    }
}
