using ChatPortal.Identity;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;

namespace ChatPortal.Accounts;

/// <summary>
/// Checks each identity cookie as it comes in. An account's session is checked against the account's security
/// stamp every <c>Accounts:SessionRevalidationSeconds</c> (a password change, a reset or a revoked role changes the
/// stamp, and the session ends). An anonymous identity has nothing to check. A cookie from before accounts that
/// still carries the old admin role claim loses it: only an account holds roles now.
/// </summary>
internal static class SessionValidation
{
    public static Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        if (principal is null)
        {
            return Task.CompletedTask;
        }

        if (principal.IsAccount())
        {
            return SecurityStampValidator.ValidatePrincipalAsync(context);
        }

        if (principal.IsAdmin() && principal.GetUserId() is { } userId)
        {
            context.ReplacePrincipal(UserIdentity.NewUser(userId));
            context.ShouldRenew = true;
        }

        return Task.CompletedTask;
    }
}
