using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Accounts;

/// <summary>An account as the admin sees it.</summary>
public sealed record AccountSummary(string Id, string UserName, bool IsAdmin, bool LockedOut, DateTimeOffset CreatedAt);

/// <summary>A one-time password reset link and when it stops working.</summary>
public sealed record ResetLink(string Url, DateTimeOffset ExpiresAt);

public enum AccountChange
{
    Done,
    NotFound,

    /// <summary>An admin cannot take the admin role from themself (the cluster would be left without one).</summary>
    OwnRole,
}

/// <summary>
/// What an admin does to accounts, for the admin API and the users page alike: list them, grant and revoke the admin
/// role (revoking ends the account's sessions: its security stamp changes; a grant reaches them at their next check), and issue a one-time reset link.
/// </summary>
public sealed class AccountAdministration(UserManager<UserRecord> users, ChatPortalDbContext db, TimeProvider time, ILogger<AccountAdministration> logger)
{
    public const int MaxListed = 500;

    public async Task<IReadOnlyList<AccountSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        var adminRoleId = await db.Roles.Where(r => r.Name == UserIdentity.AdminRole).Select(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        var now = time.GetUtcNow();
        var rows = await db.Users.AsNoTracking()
            .Where(u => u.UserName != null)
            .OrderBy(u => u.NormalizedUserName)
            .Take(MaxListed)
            .Select(u => new
            {
                u.Id,
                u.UserName,
                u.CreatedAt,
                u.LockoutEnd,
                IsAdmin = db.UserRoles.Any(r => r.UserId == u.Id && r.RoleId == adminRoleId),
            })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => new AccountSummary(r.Id, r.UserName!, r.IsAdmin, r.LockoutEnd > now, new DateTimeOffset(DateTime.SpecifyKind(r.CreatedAt, DateTimeKind.Utc))))];
    }

    public async Task<AccountChange> SetAdminAsync(string adminId, string adminName, string userId, bool admin)
    {
        if (await FindAccountAsync(userId) is not { } user)
        {
            return AccountChange.NotFound;
        }

        if (!admin && userId == adminId)
        {
            return AccountChange.OwnRole;
        }

        var isAdmin = await users.IsInRoleAsync(user, UserIdentity.AdminRole);
        if (isAdmin == admin)
        {
            return AccountChange.Done;
        }

        var result = admin ? await users.AddToRoleAsync(user, UserIdentity.AdminRole) : await users.RemoveFromRoleAsync(user, UserIdentity.AdminRole);
        Check(result);
        // The role lives in the sessions' cookies and circuits. Revoking: a new stamp ends them within a revalidation
        // interval. Granting: the sessions stay, and each picks the role up when it is next checked.
        if (!admin)
        {
            Check(await users.UpdateSecurityStampAsync(user));
        }

        AccountLog.RoleChanged(logger, adminName, admin ? "granted" : "revoked", user.UserName!);
        return AccountChange.Done;
    }

    /// <summary>A link to <c>/reset-password</c> that sets a new password once (the reset changes the stamp it was made with).</summary>
    public async Task<ResetLink?> IssueResetLinkAsync(string adminName, string userId, Uri baseUri, TimeSpan lifetime)
    {
        if (await FindAccountAsync(userId) is not { } user)
        {
            return null;
        }

        var token = await users.GeneratePasswordResetTokenAsync(user);
        AccountLog.ResetLinkIssued(logger, adminName, user.UserName!);
        var url = new Uri(baseUri, $"reset-password?user={Uri.EscapeDataString(user.Id)}&token={Uri.EscapeDataString(token)}");
        return new ResetLink(url.ToString(), time.GetUtcNow() + lifetime);
    }

    private async Task<UserRecord?> FindAccountAsync(string userId) =>
        await users.FindByIdAsync(userId) is { UserName: not null } user ? user : null;

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(string.Join(" ", result.Errors.Select(e => e.Description)));
        }
    }
}
