using System.Buffers.Text;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using ChatPortal.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace ChatPortal.Accounts;

/// <summary>
/// Passkeys (WebAuthn through ASP.NET Core Identity): a signed-in account adds one on <c>/account</c> and removes
/// it there; anyone signs in with one on <c>/login</c>. The browser first asks for options (a JSON challenge that
/// Identity keeps in a short-lived cookie), hands them to <c>navigator.credentials</c>, and posts the answer with the
/// form. Identity verifies the answer server-side; a credential that cannot be verified sends the browser back
/// with an <c>error</c> code and stores nothing.
/// </summary>
public static class PasskeyEndpoints
{
    /// <summary>The longest credential JSON accepted (a passkey answer is a few kilobytes at most).</summary>
    public const int MaxCredentialLength = 64 * 1024;

    public static IEndpointRouteBuilder MapPasskeyEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/passkey/creation-options", CreationOptionsAsync);
        app.MapPost("/account/passkey/request-options", RequestOptionsAsync);
        app.MapPost("/account/passkey/add", AddAsync);
        app.MapPost("/account/passkey/remove", RemoveAsync);
        app.MapPost("/account/passkey/login", LoginAsync);
        return app;
    }

    // The options requests carry the form's antiforgery token like every form post here.
    private static async Task<IResult> CreationOptionsAsync(HttpContext context, SignInManager<UserRecord> signIn, [FromForm] string? purpose)
    {
        if (!context.User.IsAccount() || await signIn.UserManager.GetUserAsync(context.User) is not { } user)
        {
            return TypedResults.Problem(title: "Sign in to add a passkey.", statusCode: StatusCodes.Status401Unauthorized);
        }

        var json = await signIn.MakePasskeyCreationOptionsAsync(new PasskeyUserEntity
        {
            Id = user.Id,
            Name = user.UserName!,
            DisplayName = user.UserName!,
        });
        return TypedResults.Content(json, "application/json");
    }

    private static async Task<IResult> RequestOptionsAsync(SignInManager<UserRecord> signIn, [FromForm] string? purpose) =>
        TypedResults.Content(await signIn.MakePasskeyRequestOptionsAsync(null), "application/json");

    private static async Task<IResult> AddAsync(
        HttpContext context, SignInManager<UserRecord> signIn, ILogger<AccountSignInManager> logger,
        [FromForm] string? credential, [FromForm] string? name)
    {
        if (!context.User.IsAccount() || await signIn.UserManager.GetUserAsync(context.User) is not { } user)
        {
            return TypedResults.LocalRedirect("/login?returnUrl=%2Faccount");
        }

        if (string.IsNullOrEmpty(credential) || credential.Length > MaxCredentialLength)
        {
            return TypedResults.LocalRedirect("/account?error=passkey");
        }

        PasskeyAttestationResult result;
        try
        {
            result = await signIn.PerformPasskeyAttestationAsync(credential);
        }
        catch (InvalidOperationException)
        {
            return TypedResults.LocalRedirect("/account?error=passkey"); // no options were asked for (or they expired)
        }

        if (!result.Succeeded)
        {
            AccountLog.PasskeyRefused(logger, user.UserName!, result.Failure.Message);
            return TypedResults.LocalRedirect("/account?error=passkey");
        }

        if (result.UserEntity.Id != user.Id)
        {
            return TypedResults.LocalRedirect("/account?error=passkey"); // options made for another session's account
        }

        name = name?.Trim();
        result.Passkey.Name = string.IsNullOrEmpty(name) ? $"Passkey added {DateTime.UtcNow:yyyy-MM-dd}" : name.Length > 64 ? name[..64] : name;
        var stored = await signIn.UserManager.AddOrUpdatePasskeyAsync(user, result.Passkey);
        if (!stored.Succeeded)
        {
            return TypedResults.LocalRedirect("/account?error=passkey");
        }

        AccountLog.PasskeyAdded(logger, user.UserName!);
        return TypedResults.LocalRedirect("/account?passkey=added");
    }

    private static async Task<IResult> RemoveAsync(
        HttpContext context, SignInManager<UserRecord> signIn, ILogger<AccountSignInManager> logger, [FromForm] string? id)
    {
        if (!context.User.IsAccount() || await signIn.UserManager.GetUserAsync(context.User) is not { } user)
        {
            return TypedResults.LocalRedirect("/login?returnUrl=%2Faccount");
        }

        if (string.IsNullOrEmpty(id) || id.Length > 2048 || !Base64Url.IsValid(id))
        {
            return TypedResults.LocalRedirect("/account?error=passkey-remove");
        }

        var credentialId = Base64Url.DecodeFromChars(id);
        if (await signIn.UserManager.GetPasskeyAsync(user, credentialId) is null)
        {
            return TypedResults.LocalRedirect("/account?error=passkey-remove");
        }

        var removed = await signIn.UserManager.RemovePasskeyAsync(user, credentialId);
        if (!removed.Succeeded)
        {
            return TypedResults.LocalRedirect("/account?error=passkey-remove");
        }

        AccountLog.PasskeyRemoved(logger, user.UserName!);
        return TypedResults.LocalRedirect("/account?passkey=removed");
    }

    /// <summary>
    /// Signing in with a passkey takes the password sign-in's path: the anonymous identity's conversations go to
    /// the account, then the persistent identity cookie. Identity's assertion checks the signature and the sign
    /// count; the lockout counts here as it does for passwords (a locked account cannot use its passkey either).
    /// </summary>
    private static async Task<IResult> LoginAsync(
        HttpContext context, AccountSignInManager signIn, ILogger<AccountSignInManager> logger,
        [FromForm] string? credential, [FromForm] string? returnUrl)
    {
        // No guessing throttle: an assertion is a signature over a one-time challenge, there is nothing to guess.
        var target = AccountEndpoints.IsLocal(returnUrl) ? returnUrl! : null;
        IResult Back(string error) => TypedResults.LocalRedirect($"/login?error={error}&returnUrl={Uri.EscapeDataString(target ?? "/")}");
        if (string.IsNullOrEmpty(credential) || credential.Length > MaxCredentialLength)
        {
            return Back("passkey");
        }

        PasskeyAssertionResult<UserRecord> assertion;
        try
        {
            assertion = await signIn.PerformPasskeyAssertionAsync(credential);
        }
        catch (InvalidOperationException)
        {
            return Back("passkey"); // no options were asked for (or they expired)
        }

        if (!assertion.Succeeded)
        {
            AccountLog.PasskeySignInRefused(logger, ClientAddress.Of(context), assertion.Failure.Message);
            return Back("passkey");
        }

        var user = assertion.User;
        if (await signIn.UserManager.IsLockedOutAsync(user))
        {
            AccountLog.LockedOut(logger, user.UserName!, ClientAddress.Of(context));
            return Back("locked");
        }

        if (!await signIn.CanSignInAsync(user) || user.UserName is null)
        {
            return Back("passkey");
        }

        // The new sign count and last use (Identity's replay check for the next assertion).
        await signIn.UserManager.AddOrUpdatePasskeyAsync(user, assertion.Passkey);
        await signIn.SignInTakingOverAsync(user, "passkey");
        var admin = await signIn.UserManager.IsInRoleAsync(user, UserIdentity.AdminRole);
        return TypedResults.LocalRedirect(target ?? (admin ? "/admin" : "/"));
    }
}
