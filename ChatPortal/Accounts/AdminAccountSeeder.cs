using ChatPortal.Core;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ChatPortal.Accounts;

/// <summary>
/// Makes <c>Admin:Username</c>/<c>Admin:Password</c> an admin account at start: creates it, or sets its password
/// back to the configured one, and gives it the admin role. Nodes starting together do it one at a time under an
/// advisory lock (like <c>KeyRingInitializer</c>), so there is one such account. It is not locked out by wrong
/// passwords (guessing is slowed down by the sign-in throttle instead, so nobody can lock the operator out); other
/// admins are ordinary accounts granted the role on /admin/users.
/// </summary>
internal sealed class AdminAccountSeeder(
    IServiceScopeFactory scopes,
    IDbContextFactory<ChatPortalDbContext> contexts,
    IOptions<ChatPortalOptions> options,
    ILogger<AdminAccountSeeder> logger) : IHostedService
{
    private const long LockKey = 0x43_68_61_74_41_64_6d_6e; // "ChatAdmn"

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var admin = options.Value.Admin;
        if (string.IsNullOrEmpty(admin.Password))
        {
            AccountLog.NoAdminPassword(logger);
            return;
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await AdvisoryLock.RunAsync(db, LockKey, () => EnsureAdminAsync(admin.Username, admin.Password), cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task EnsureAdminAsync(string userName, string password)
    {
        await using var scope = scopes.CreateAsyncScope();
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<UserRecord>>();
        if (!await roles.RoleExistsAsync(UserIdentity.AdminRole))
        {
            Check(await roles.CreateAsync(new IdentityRole(UserIdentity.AdminRole)), "create the admin role");
        }

        var user = await users.FindByNameAsync(userName);
        if (user is null)
        {
            var now = DateTime.UtcNow;
            user = new UserRecord { Id = Ids.NewUserId(), UserName = userName, CreatedAt = now, LastActiveAt = now, LockoutEnabled = false };
            // The operator's password is taken as configured, whatever the sign-up rules are.
            user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
            Check(await users.CreateAsync(user), "create the admin account");
            Check(await users.SetLockoutEnabledAsync(user, false), "exempt the admin account from lockout"); // CreateAsync turns it on
            AccountLog.AdminCreated(logger, userName);
        }
        else if (users.PasswordHasher.VerifyHashedPassword(user, user.PasswordHash ?? "", password) == PasswordVerificationResult.Failed || user.LockoutEnabled)
        {
            user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
            user.LockoutEnabled = false;
            user.LockoutEnd = null;
            Check(await users.UpdateSecurityStampAsync(user), "set the admin account's password"); // saves; ends other sessions
            AccountLog.AdminPasswordSet(logger, userName);
        }

        if (!await users.IsInRoleAsync(user, UserIdentity.AdminRole))
        {
            Check(await users.AddToRoleAsync(user, UserIdentity.AdminRole), "give the admin account the admin role");
        }
    }

    private static void Check(IdentityResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Could not {what} from ChatPortal:Admin:Username/Password: {string.Join(" ", result.Errors.Select(e => e.Description))}");
        }
    }
}
