using System.Security.Claims;
using ChatPortal.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace ChatPortal.Identity;

/// <summary>
/// Every browser or API client is a user: without an identity cookie it gets one on its first response
/// (HttpOnly, SameSite=Lax, protected with the shared Data Protection keys), so one client is one user on
/// every node.
/// </summary>
public static class UserIdentity
{
    public const string Scheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string CookieName = "chatportal_id";
    public const string AdminRole = "admin";

    public static string? GetUserId(this ClaimsPrincipal principal) =>
        principal.FindFirstValue(ClaimTypes.NameIdentifier);

    public static bool IsAdmin(this ClaimsPrincipal principal) => principal.IsInRole(AdminRole);

    public static ClaimsPrincipal NewUser(string? userId = null, bool admin = false)
    {
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, userId ?? Ids.NewUserId()) };
        if (admin)
        {
            claims.Add(new Claim(ClaimTypes.Role, AdminRole));
            claims.Add(new Claim(ClaimTypes.Name, "admin"));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme));
    }

    /// <summary>Gives an anonymous request a new user identity and its cookie.</summary>
    public static IApplicationBuilder UseUserIdentity(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.User.GetUserId() is null && !IsInfrastructure(context.Request.Path))
        {
            var user = NewUser();
            await context.SignInAsync(Scheme, user, new AuthenticationProperties { IsPersistent = true });
            context.User = user;
        }

        await next(context);
    });

    private static bool IsInfrastructure(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics")
        || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content") || path.StartsWithSegments("/api/admin");
}
