using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using ChatPortal.Core.Conversations;
using Microsoft.AspNetCore.Authentication;

namespace ChatPortal.Identity;

/// <summary>
/// What a sign-in through an outside provider makes of the person it names: the one place that maps an external login
/// to a ChatPortal user. Today the user is the identity cookie's (<see cref="UserIdentity"/>): its id is derived from the
/// provider's issuer and subject, so the same person is the same user on every node, in every browser, for good; the
/// anonymous user of the browser hands its conversations over. Accounts (ASP.NET Core Identity) re-point this class at
/// their external-login table and keep the rest of the flow.
/// </summary>
public sealed class ExternalSignIn(IConversationHandover handover, ILogger<ExternalSignIn> logger)
{
    /// <summary>A short-lived cookie that holds the provider's principal between its callback and <see cref="SignInAsync"/>.</summary>
    public const string CookieScheme = "External";

    public const string CookieName = "chatportal_external";

    /// <summary>Marks a user who signed in through a provider (its value is the provider's scheme).</summary>
    public const string LoginClaim = "chatportal:login";

    public static bool IsExternal(ClaimsPrincipal principal) => principal.HasClaim(c => c.Type == LoginClaim);

    /// <summary>
    /// The chat user id of a provider's subject: 24 hex digits (the length of every user id) of SHA-256 over the issuer
    /// (length-prefixed, so no issuer and subject pair can spell another) and the subject.
    /// </summary>
    public static string UserIdFor(string issuer, string subject) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{issuer.Length}:{issuer}\n{subject}")))[..24];

    /// <summary>
    /// Signs the browser in as the user the provider's principal names, handing an anonymous user's conversations over.
    /// Returns the user id, or null when the principal names nobody (no <c>sub</c>).
    /// </summary>
    public async Task<string?> SignInAsync(HttpContext context, ClaimsPrincipal external, string provider)
    {
        if (external.FindFirst("sub") is not { Value.Length: > 0 } subject)
        {
            return null;
        }

        // The claim's issuer is the token's iss, which the handler validated against the provider's discovery document.
        var userId = UserIdFor(subject.Issuer, subject.Value);
        var moved = 0;
        if (context.User.GetUserId() is { } current && current != userId && !IsExternal(context.User))
        {
            moved = await handover.HandOverAsync(current, userId, context.RequestAborted);
        }

        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, userId), new(LoginClaim, provider) };
        if (external.FindFirstValue("name") is { Length: > 0 } name)
        {
            claims.Add(new Claim(ClaimTypes.Name, name));
        }

        if (external.FindFirstValue("email") is { Length: > 0 } email)
        {
            claims.Add(new Claim(ClaimTypes.Email, email));
        }

        var user = new ClaimsPrincipal(new ClaimsIdentity(claims, UserIdentity.Scheme));
        await context.SignInAsync(UserIdentity.Scheme, user, new AuthenticationProperties { IsPersistent = true });
        await context.SignOutAsync(CookieScheme);
        context.User = user;
        ExternalSignInLog.SignedIn(logger, provider, subject.Issuer, userId, moved);
        return userId;
    }
}

/// <summary>Log messages of external sign-in (event ids 3201-3299).</summary>
internal static partial class ExternalSignInLog
{
    [LoggerMessage(3201, LogLevel.Information, "Signed in through {Provider} ({Issuer}) as user {UserId}; {Moved} conversations carried over.")]
    public static partial void SignedIn(ILogger logger, string provider, string issuer, string userId, int moved);

    [LoggerMessage(3202, LogLevel.Warning, "Sign-in through {Provider} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string provider, string reason);
}
