using System.Security.Claims;
using ChatPortal.Core;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace ChatPortal.Identity;

/// <summary>
/// Every browser or API client is a user: without an identity cookie it gets one on its first safe request (GET,
/// HEAD, OPTIONS; HttpOnly, SameSite=Lax, protected with the shared Data Protection keys), so one client is one user
/// on every node. An unsafe request never mints one: a forged or scripted POST cannot make up users, and an API
/// call that changes data without an identity is a 401 that says to make a GET first.
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
            if (CrossSiteRequestGuard.IsSafe(context.Request.Method))
            {
                var user = NewUser();
                await context.SignInAsync(Scheme, user, new AuthenticationProperties { IsPersistent = true });
                context.User = user;
            }
            else if (context.Request.Path.StartsWithSegments("/api"))
            {
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UserIdentity).FullName!);
                SecurityLog.UnsafeWithoutIdentity(logger, context.Request.Method, context.Request.Path);
                await Results.Problem(
                        detail: $"No identity: make a GET request first (e.g. GET /api/conversations) and send back the {CookieName} cookie it sets.",
                        statusCode: StatusCodes.Status401Unauthorized,
                        title: "Unauthorized")
                    .ExecuteAsync(context);
                return;
            }
        }

        await next(context);
    });

    private static bool IsInfrastructure(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics")
        || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content") || path.StartsWithSegments("/api/admin");
}
