using System.Security.Claims;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace ChatPortal.Accounts;

/// <summary>
/// An open page (a Blazor circuit) keeps the session it started with; this checks that session's security stamp
/// against the account every <c>Accounts:SessionRevalidationSeconds</c>. When the password changed or the admin
/// role was revoked meanwhile, the circuit's user becomes signed out and the page reloads (<c>AccountMenu</c>),
/// where the cookie check ends the session too.
/// </summary>
public sealed class AccountRevalidatingAuthenticationStateProvider(
    ILoggerFactory loggerFactory,
    IServiceScopeFactory scopes,
    IOptions<AccountOptions> options)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(options.Value.SessionRevalidationSeconds);

    protected override Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken) =>
        IsStillValidAsync(authenticationState.User);

    /// <summary>An anonymous identity is always valid; an account's session while its security stamp is unchanged.</summary>
    public async Task<bool> IsStillValidAsync(ClaimsPrincipal principal)
    {
        if (!principal.IsAccount())
        {
            return true;
        }

        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<UserRecord>>();
        var user = await users.GetUserAsync(principal);
        if (user is null)
        {
            return false;
        }

        var stamp = principal.FindFirstValue(UserIdentity.SecurityStampClaim);
        return stamp == await users.GetSecurityStampAsync(user);
    }
}
