using ChatPortal.Core;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Accounts;

/// <summary>
/// The account forms post here (antiforgery-checked, refused cross-site like every unsafe request): sign in, sign up,
/// sign out, change the password, and set a new one with an admin's reset link. An anonymous user who signs up keeps
/// their user id; one who signs in hands their conversations to the account (<see cref="AccountSignInManager.SignInTakingOverAsync"/>).
/// A form that cannot be accepted sends the browser back to its page with an <c>error</c> code; nothing is stored.
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/login", LoginAsync);
        app.MapPost("/account/register", RegisterAsync);
        app.MapPost("/account/logout", (Delegate)LogoutAsync);
        app.MapPost("/account/password", ChangePasswordAsync);
        app.MapPost("/account/reset", ResetPasswordAsync);
        app.MapPasskeyEndpoints();
        return app;
    }

    private static async Task<IResult> LoginAsync(
        HttpContext context, AccountSignInManager signIn, SignInThrottle throttle, ILogger<AccountSignInManager> logger,
        [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl)
    {
        const string via = "sign-in form";
        var address = ClientAddress.Of(context);
        string Back(string error) => $"/login?error={error}&returnUrl={Uri.EscapeDataString(IsLocal(returnUrl) ? returnUrl! : "/")}&username={Uri.EscapeDataString(username ?? "")}";
        var check = await throttle.CheckAsync(username, address, via);
        if (!check.Decision.Allowed)
        {
            return new SignInRefusal(check.Decision);
        }

        var user = string.IsNullOrEmpty(username) ? null : await signIn.UserManager.FindByNameAsync(username);
        var result = user is null || string.IsNullOrEmpty(password)
            ? Microsoft.AspNetCore.Identity.SignInResult.Failed
            : await signIn.CheckPasswordSignInAsync(user, password, lockoutOnFailure: true);
        if (!result.Succeeded || user is null)
        {
            await throttle.FailedAsync(username, address, via);
            if (result.IsLockedOut)
            {
                AccountLog.LockedOut(logger, user!.UserName!, address);
                return TypedResults.LocalRedirect(Back("locked"));
            }

            return TypedResults.LocalRedirect(Back("1"));
        }

        await throttle.SucceededAsync(username!, check);
        await signIn.SignInTakingOverAsync(user);
        var admin = await signIn.UserManager.IsInRoleAsync(user, UserIdentity.AdminRole);
        return TypedResults.LocalRedirect(IsLocal(returnUrl) ? returnUrl! : admin ? "/admin" : "/");
    }

    private static async Task<IResult> RegisterAsync(
        HttpContext context, SignInManager<UserRecord> signIn, ChatPortalDbContext db, ILogger<AccountSignInManager> logger,
        [FromForm] string? username, [FromForm] string? password, [FromForm] string? confirm, [FromForm] string? returnUrl)
    {
        var target = IsLocal(returnUrl) ? returnUrl! : "/";
        IResult Back(string error) =>
            TypedResults.LocalRedirect($"/register?error={error}&username={Uri.EscapeDataString(username ?? "")}&returnUrl={Uri.EscapeDataString(target)}");

        var users = signIn.UserManager;
        username = username?.Trim();
        if (string.IsNullOrEmpty(username) || username.Length > 64)
        {
            return Back("name");
        }

        if (string.IsNullOrEmpty(password) || password != confirm)
        {
            return Back("mismatch");
        }

        // An anonymous user keeps their id: their row becomes the account, and their conversations stay theirs.
        var anonymousId = context.User.IsAccount() ? null : context.User.GetUserId();
        UserRecord user;
        if (anonymousId is not null)
        {
            var now = DateTime.UtcNow; // an anonymous user gets a row with their first conversation: make sure of it
            await db.Database.ExecuteSqlAsync($"INSERT INTO users (id, created_at, last_active_at) VALUES ({anonymousId}, {now}, {now}) ON CONFLICT (id) DO NOTHING", context.RequestAborted);
            user = await users.FindByIdAsync(anonymousId) ?? throw new InvalidOperationException("The user's row was just made sure of.");
            if (user.UserName is not null)
            {
                return Back("taken"); // this id is an account already (signed out of it): sign in instead
            }
        }
        else
        {
            var now = DateTime.UtcNow;
            user = new UserRecord { Id = Ids.NewUserId(), CreatedAt = now, LastActiveAt = now };
        }

        foreach (var validator in users.PasswordValidators)
        {
            if (!(await validator.ValidateAsync(users, user, password)).Succeeded)
            {
                return Back("password");
            }
        }

        // One write: the name, the password hash and a new stamp together (nothing half-stored).
        user.UserName = username;
        user.NormalizedUserName = users.NormalizeName(username);
        user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
        user.SecurityStamp = Guid.NewGuid().ToString("N");
        user.LockoutEnabled = true;
        IdentityResult result;
        try
        {
            result = anonymousId is null ? await users.CreateAsync(user) : await users.UpdateAsync(user);
        }
        catch (DbUpdateException)
        {
            return Back("taken"); // two sign-ups with one name at once: the unique index decided
        }

        if (!result.Succeeded)
        {
            return Back(result.Errors.Any(e => e.Code is "DuplicateUserName") ? "taken" : "name");
        }

        AccountLog.SignedUp(logger, username, user.Id);
        await signIn.SignInAsync(user, isPersistent: true);
        return TypedResults.LocalRedirect(target);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context, SignInManager<UserRecord> signIn)
    {
        if (context.User.IsAccount())
        {
            // The next page gives this browser a new anonymous identity: the account's conversations stay with it.
            await signIn.SignOutAsync();
        }
        else if (context.User.GetUserId() is { } userId && context.User.IsAdmin())
        {
            // A cookie from before accounts: it keeps its user, without the role.
            await context.SignInAsync(UserIdentity.Scheme, UserIdentity.NewUser(userId), new AuthenticationProperties { IsPersistent = true });
        }

        return TypedResults.LocalRedirect("/");
    }

    private static async Task<IResult> ChangePasswordAsync(
        HttpContext context, SignInManager<UserRecord> signIn, ILogger<AccountSignInManager> logger,
        [FromForm] string? current, [FromForm] string? password, [FromForm] string? confirm)
    {
        if (!context.User.IsAccount() || await signIn.UserManager.GetUserAsync(context.User) is not { } user)
        {
            return TypedResults.LocalRedirect("/login?returnUrl=%2Faccount");
        }

        if (string.IsNullOrEmpty(password) || password != confirm)
        {
            return TypedResults.LocalRedirect("/account?error=mismatch");
        }

        var result = await signIn.UserManager.ChangePasswordAsync(user, current ?? "", password);
        if (!result.Succeeded)
        {
            return TypedResults.LocalRedirect(result.Errors.Any(e => e.Code == "PasswordMismatch") ? "/account?error=current" : "/account?error=password");
        }

        // The new stamp ends the other sessions; this one gets a cookie with the new stamp and stays.
        AccountLog.PasswordChanged(logger, user.UserName!);
        await signIn.RefreshSignInAsync(user);
        return TypedResults.LocalRedirect("/account?changed=1");
    }

    private static async Task<IResult> ResetPasswordAsync(
        SignInManager<UserRecord> signIn, ILogger<AccountSignInManager> logger,
        [FromForm] string? user, [FromForm] string? token, [FromForm] string? password, [FromForm] string? confirm)
    {
        var back = $"/reset-password?user={Uri.EscapeDataString(user ?? "")}&token={Uri.EscapeDataString(token ?? "")}";
        if (string.IsNullOrEmpty(password) || password != confirm)
        {
            return TypedResults.LocalRedirect($"{back}&error=mismatch");
        }

        var users = signIn.UserManager;
        var account = string.IsNullOrEmpty(user) ? null : await users.FindByIdAsync(user);
        if (account?.UserName is null || string.IsNullOrEmpty(token))
        {
            return TypedResults.LocalRedirect($"{back}&error=invalid");
        }

        var result = await users.ResetPasswordAsync(account, token, password);
        if (!result.Succeeded)
        {
            return TypedResults.LocalRedirect($"{back}&error={(result.Errors.Any(e => e.Code == "InvalidToken") ? "invalid" : "password")}");
        }

        // The admin reset also lifts a lockout; the new stamp voids this link and ends every session of the account.
        await users.SetLockoutEndDateAsync(account, null);
        await users.ResetAccessFailedCountAsync(account);
        AccountLog.PasswordReset(logger, account.UserName);
        return TypedResults.LocalRedirect($"/login?reset=1&username={Uri.EscapeDataString(account.UserName)}");
    }

    private sealed class SignInRefusal(LimitDecision decision) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => SignInThrottle.WriteRefusalAsync(httpContext, decision);
    }

    internal static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
