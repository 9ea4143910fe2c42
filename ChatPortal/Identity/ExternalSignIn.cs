using System.Security.Claims;
using System.Text;
using ChatPortal.Accounts;
using ChatPortal.Core;
using ChatPortal.Core.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Identity;

/// <summary>
/// What a sign-in through an outside provider makes of the person it names: the one place that maps an external login
/// to a ChatPortal account. The account is found by its external login (Identity's <c>user_logins</c>: the provider's
/// scheme and the token's <c>sub</c>), or made for it: an account without a password whose user name comes from the
/// provider's email or name, made unique; the account and its login are stored in one write. The browser then signs
/// in through Identity like any account (<see cref="AccountSignInManager.SignInTakingOverAsync"/>): the session carries
/// the security stamp, so revalidation, a role granted or revoked by an admin and a reset apply to it, and the browser's
/// anonymous conversations come along.
/// </summary>
/// <remarks>
/// An external login never joins an existing password account by its email: the provider's email is not proof of
/// owning that account. An admin's lockout holds for a provider's account too.
/// </remarks>
public sealed class ExternalSignIn(AccountSignInManager signIn, ChatPortalDbContext db, ILogger<ExternalSignIn> logger)
{
    /// <summary>The longest user name Identity's forms accept (the sign-up form's limit).</summary>
    private const int MaxUserNameLength = 64;

    /// <summary>The cookie scheme that holds the provider's principal between its callback and <see cref="SignInAsync"/>.</summary>
    public static string CookieScheme => IdentityConstants.ExternalScheme;

    public const string CookieName = "chatportal_external";

    /// <summary>
    /// Signs the browser in to the account of the provider's principal, making the account on its first sign-in.
    /// Returns the account, or null when the principal names nobody (no <c>sub</c>) or the account is locked out.
    /// </summary>
    public async Task<UserRecord?> SignInAsync(HttpContext context, ClaimsPrincipal external, string provider, string? providerDisplayName)
    {
        if (external.FindFirst("sub") is not { Value.Length: > 0 } subject)
        {
            ExternalSignInLog.Failed(logger, provider, "the provider's answer names no subject");
            return null;
        }

        var users = signIn.UserManager;
        var account = await users.FindByLoginAsync(provider, subject.Value) ?? await CreateAsync(external, provider, subject.Value, providerDisplayName, context.RequestAborted);
        if (await users.IsLockedOutAsync(account))
        {
            ExternalSignInLog.Failed(logger, provider, $"account {account.UserName} is locked out");
            return null;
        }

        var moved = await signIn.SignInTakingOverAsync(account, authenticationMethod: provider);
        await context.SignOutAsync(CookieScheme);
        ExternalSignInLog.SignedIn(logger, provider, subject.Issuer, account.UserName!, account.Id, moved);
        return account;
    }

    /// <summary>
    /// The account for a provider's first sign-in of this subject: the row and its login in one write, so there is never
    /// an account without its login. Two first sign-ins at once (two nodes) make one account: the loser of the login's
    /// key finds the winner's; a user name taken meanwhile tries the next candidate.
    /// </summary>
    private async Task<UserRecord> CreateAsync(ClaimsPrincipal external, string provider, string subject, string? displayName, CancellationToken cancellationToken)
    {
        var users = signIn.UserManager;
        var stem = UserNameStem(external.FindFirstValue("email"), external.FindFirstValue("name") ?? external.FindFirstValue("preferred_username"));
        for (var attempt = 0; ; attempt++)
        {
            var name = await FreeUserNameAsync(stem, cancellationToken);
            var now = DateTime.UtcNow;
            var account = new UserRecord
            {
                Id = Ids.NewUserId(),
                CreatedAt = now,
                LastActiveAt = now,
                UserName = name,
                NormalizedUserName = users.NormalizeName(name),
                SecurityStamp = Guid.NewGuid().ToString("N"),
                ConcurrencyStamp = Guid.NewGuid().ToString(),
                LockoutEnabled = true,
            };
            db.Users.Add(account);
            db.UserLogins.Add(new IdentityUserLogin<string> { LoginProvider = provider, ProviderKey = subject, ProviderDisplayName = displayName, UserId = account.Id });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                ExternalSignInLog.AccountCreated(logger, provider, name, account.Id);
                return account;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
                db.ChangeTracker.Clear();
                if (await users.FindByLoginAsync(provider, subject) is { } winner)
                {
                    return winner; // the same person's sign-in on another node made it a moment ago
                }
            }
        }
    }

    private async Task<string> FreeUserNameAsync(string stem, CancellationToken cancellationToken)
    {
        var users = signIn.UserManager;
        for (var n = 1; ; n++)
        {
            var suffix = n == 1 ? "" : $"-{n}";
            var candidate = stem[..Math.Min(stem.Length, MaxUserNameLength - suffix.Length)] + suffix;
            var normalized = users.NormalizeName(candidate);
            if (!await db.Users.AnyAsync(u => u.NormalizedUserName == normalized, cancellationToken))
            {
                return candidate;
            }
        }
    }

    /// <summary>
    /// A user name from the provider's email (as it is) or name (spaces as dots), in the characters Identity allows
    /// (letters, digits, <c>- . _ @ +</c>); <c>user</c> when neither leaves any.
    /// </summary>
    public static string UserNameStem(string? email, string? name)
    {
        foreach (var source in new[] { email, name?.Trim().Replace(' ', '.') })
        {
            if (string.IsNullOrWhiteSpace(source))
            {
                continue;
            }

            var kept = new StringBuilder();
            foreach (var c in source)
            {
                if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '@' or '+')
                {
                    kept.Append(c);
                }
            }

            var stem = kept.ToString().Trim('.', '-');
            if (stem.Length > 0)
            {
                return stem[..Math.Min(stem.Length, MaxUserNameLength)];
            }
        }

        return "user";
    }
}

/// <summary>Log messages of external sign-in (event ids 3201-3299).</summary>
internal static partial class ExternalSignInLog
{
    [LoggerMessage(3201, LogLevel.Information, "Signed in through {Provider} ({Issuer}) as account {UserName} ({UserId}); {Moved} conversations carried over.")]
    public static partial void SignedIn(ILogger logger, string provider, string issuer, string userName, string userId, int moved);

    [LoggerMessage(3202, LogLevel.Warning, "Sign-in through {Provider} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string provider, string reason);

    [LoggerMessage(3203, LogLevel.Information, "A first sign-in through {Provider} made account {UserName} ({UserId}).")]
    public static partial void AccountCreated(ILogger logger, string provider, string userName, string userId);
}
