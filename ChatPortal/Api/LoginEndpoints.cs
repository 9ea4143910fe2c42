using ChatPortal.Admin;
using ChatPortal.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace ChatPortal.Api;

/// <summary>
/// The admin sign-in form posts here (antiforgery-checked, rate limited). Signing in adds the admin role to the
/// browser's identity, so its conversations stay its own.
/// </summary>
public static class LoginEndpoints
{
    public const string RateLimit = "login";

    public static IEndpointRouteBuilder MapLoginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/login", LoginAsync).RequireRateLimiting(RateLimit);
        app.MapPost("/account/logout", (Delegate)LogoutAsync);
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, AdminCredentials credentials, [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl)
    {
        var target = IsLocal(returnUrl) ? returnUrl! : "/admin";
        if (!credentials.Verify(username, password))
        {
            return TypedResults.LocalRedirect($"/login?error=1&returnUrl={Uri.EscapeDataString(target)}");
        }

        var user = UserIdentity.NewUser(context.User.GetUserId(), admin: true);
        await context.SignInAsync(UserIdentity.Scheme, user, new AuthenticationProperties { IsPersistent = true });
        return TypedResults.LocalRedirect(target);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context)
    {
        var user = UserIdentity.NewUser(context.User.GetUserId());
        await context.SignInAsync(UserIdentity.Scheme, user, new AuthenticationProperties { IsPersistent = true });
        return TypedResults.LocalRedirect("/");
    }

    private static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
