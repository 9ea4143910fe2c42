using ChatPortal.Admin;
using ChatPortal.Identity;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace ChatPortal.Api;

/// <summary>
/// The admin sign-in form posts here (antiforgery-checked; guessing slowed down cluster-wide by
/// <see cref="SignInThrottle"/>). Signing in adds the admin role to the browser's identity, so its conversations
/// stay its own.
/// </summary>
public static class LoginEndpoints
{
    public static IEndpointRouteBuilder MapLoginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/login", LoginAsync);
        app.MapPost("/account/logout", (Delegate)LogoutAsync);
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, AdminCredentials credentials, SignInThrottle throttle, [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl)
    {
        const string via = "sign-in form";
        var target = IsLocal(returnUrl) ? returnUrl! : "/admin";
        var address = ClientAddress.Of(context);
        var check = await throttle.CheckAsync(username, address, via);
        if (!check.Decision.Allowed)
        {
            return new SignInRefusal(check.Decision);
        }

        if (!credentials.Verify(username, password))
        {
            await throttle.FailedAsync(username, address, via);
            return TypedResults.LocalRedirect($"/login?error=1&returnUrl={Uri.EscapeDataString(target)}");
        }

        await throttle.SucceededAsync(username!, check);
        var user = UserIdentity.NewUser(context.User.GetUserId(), admin: true);
        await context.SignInAsync(UserIdentity.Scheme, user, new AuthenticationProperties { IsPersistent = true });
        return TypedResults.LocalRedirect(target);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context)
    {
        if (context.User.GetUserId() is not { } userId)
        {
            return TypedResults.LocalRedirect("/"); // nobody to sign out, and an unsafe request mints no identity
        }

        // A provider's user leaves as a new anonymous user: the account's conversations stay with the account.
        var user = ExternalSignIn.IsExternal(context.User) ? UserIdentity.NewUser() : UserIdentity.NewUser(userId);
        await context.SignInAsync(UserIdentity.Scheme, user, new AuthenticationProperties { IsPersistent = true });
        return TypedResults.LocalRedirect("/");
    }

    private sealed class SignInRefusal(LimitDecision decision) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => SignInThrottle.WriteRefusalAsync(httpContext, decision);
    }

    private static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
