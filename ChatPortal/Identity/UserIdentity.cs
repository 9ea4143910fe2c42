using System.Security.Claims;
using ChatPortal.Accounts;
using ChatPortal.Core;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace ChatPortal.Identity;

/// <summary>
/// Every browser or API client is a user: without an identity cookie it gets one on its first safe request (GET,
/// HEAD, OPTIONS; HttpOnly, SameSite=Lax, protected with the shared Data Protection keys), so one client is one user
/// on every node. An unsafe request never mints one: a forged or scripted POST cannot make up users, and an API
/// call that changes data without an identity is a 401 that says to make a GET first.
/// An account's session is the same cookie with the account's claims (user name, roles, security stamp), made by
/// ASP.NET Core Identity's sign-in; the account's id is the user id, so its conversations are found the same way.
/// With <c>Accounts:AllowAnonymous</c> off nobody gets an anonymous identity: everything but signing in and
/// signing up needs an account.
/// </summary>
public static class UserIdentity
{
    public const string Scheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string CookieName = "chatportal_id";
    public const string AdminRole = "admin";

    public static string? GetUserId(this ClaimsPrincipal principal) =>
        principal.FindFirstValue(ClaimTypes.NameIdentifier);

    public static bool IsAdmin(this ClaimsPrincipal principal) => principal.IsInRole(AdminRole);

    /// <summary>The claim Identity puts in an account's session (and nothing puts in an anonymous one).</summary>
    public const string SecurityStampClaim = "AspNet.Identity.SecurityStamp";

    /// <summary>A signed-in account, as opposed to an anonymous identity.</summary>
    public static bool IsAccount(this ClaimsPrincipal principal) => principal.HasClaim(c => c.Type == SecurityStampClaim);

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
        var accounts = context.RequestServices.GetRequiredService<IOptionsMonitor<AccountOptions>>().CurrentValue;
        if (!accounts.AllowAnonymous)
        {
            if (!context.User.IsAccount() && !IsInfrastructure(context.Request.Path) && !IsOpenWithoutAccount(context.Request))
            {
                await RefuseWithoutAccountAsync(context);
                return;
            }
        }
        else if (context.User.GetUserId() is null && !IsInfrastructure(context.Request.Path))
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

    /// <summary>Pages and posts that someone without an account needs to get one, and the static files they load.</summary>
    private static bool IsOpenWithoutAccount(HttpRequest request)
    {
        var path = request.Path;
        return path.StartsWithSegments("/login") || path.StartsWithSegments("/register") || path.StartsWithSegments("/not-found")
            || path.StartsWithSegments("/account/login") || path.StartsWithSegments("/account/register") || path.StartsWithSegments("/account/reset") || path.StartsWithSegments("/reset-password")
            || path.StartsWithSegments("/account/external-login") || path.StartsWithSegments("/account/external-callback") || path.StartsWithSegments(ExternalSignInEndpoints.CallbackPath)
            || (CrossSiteRequestGuard.IsSafe(request.Method) && Path.HasExtension(path.Value));
    }

    private static Task RefuseWithoutAccountAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/api") || !HttpMethods.IsGet(context.Request.Method))
        {
            return Results.Problem(
                    detail: "This ChatPortal needs an account: sign in (POST /account/login) and send back the cookie it sets.",
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Unauthorized")
                .ExecuteAsync(context);
        }

        var target = context.Request.Path + context.Request.QueryString;
        context.Response.Redirect($"/login?returnUrl={Uri.EscapeDataString(target)}");
        return Task.CompletedTask;
    }

    private static bool IsInfrastructure(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics")
        || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content") || path.StartsWithSegments("/api/admin");
}
