using ChatPortal.Admin;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ChatPortal.Accounts;

public static class AccountServiceCollectionExtensions
{
    /// <summary>
    /// The identity cookie (anonymous users and accounts alike), ASP.NET Core Identity on the system of record,
    /// HTTP Basic for the admin API, the first admin account from <c>Admin:*</c>, and session revalidation.
    /// </summary>
    public static IServiceCollection AddChatPortalAccounts(this IServiceCollection services)
    {
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccountOptions>, AccountOptionsValidator>();

        services.AddAuthentication(UserIdentity.Scheme)
            .AddCookie(UserIdentity.Scheme, options =>
            {
                options.Cookie.Name = UserIdentity.CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromDays(365);
                options.SlidingExpiration = true;
                options.LoginPath = "/login";
                options.AccessDeniedPath = "/login";
                options.Events.OnRedirectToLogin = context => ApiAwareRedirect(context, StatusCodes.Status401Unauthorized);
                options.Events.OnRedirectToAccessDenied = context => ApiAwareRedirect(context, StatusCodes.Status403Forbidden);
                options.Events.OnValidatePrincipal = SessionValidation.ValidateAsync;
            })
            // Identity signs these out with every rejected session; external sign-in (OpenID Connect) keeps the
            // provider's answer in the external one between the provider's callback and the account's sign-in.
            .AddCookie(IdentityConstants.ExternalScheme, options =>
            {
                options.Cookie.Name = ExternalSignIn.CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromMinutes(5);
            })
            .AddCookie(IdentityConstants.TwoFactorUserIdScheme, options =>
            {
                options.Cookie.Name = "chatportal_2fa";
                options.ExpireTimeSpan = TimeSpan.FromMinutes(5);
            })
            .AddCookie(IdentityConstants.TwoFactorRememberMeScheme, options => options.Cookie.Name = "chatportal_2fa_remember")
            .AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(BasicAuthenticationHandler.SchemeName, null);

        services.AddAuthorizationBuilder()
            .AddPolicy(Api.AdminEndpoints.Policy, policy => policy
                .AddAuthenticationSchemes(BasicAuthenticationHandler.SchemeName)
                .RequireRole(UserIdentity.AdminRole));

        // Identity's stores take a context per request scope: a pooled one from the node's factory.
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<ChatPortalDbContext>>().CreateDbContext());
        services.AddIdentityCore<UserRecord>()
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<ChatPortalDbContext>()
            .AddSignInManager<AccountSignInManager>()
            .AddDefaultTokenProviders();
        services.AddOptions<IdentityOptions>().Configure<IOptions<AccountOptions>>((identity, accounts) =>
        {
            // Length over composition rules; the lockout counts in the database, so every node sees the same count.
            identity.Password.RequiredLength = accounts.Value.MinPasswordLength;
            identity.Password.RequireDigit = false;
            identity.Password.RequireLowercase = false;
            identity.Password.RequireUppercase = false;
            identity.Password.RequireNonAlphanumeric = false;
            identity.Password.RequiredUniqueChars = 1;
            identity.Lockout.AllowedForNewUsers = true;
            identity.Lockout.MaxFailedAccessAttempts = accounts.Value.LockoutFailures;
            identity.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(accounts.Value.LockoutMinutes);
            identity.User.RequireUniqueEmail = false;
            identity.ClaimsIdentity.SecurityStampClaimType = UserIdentity.SecurityStampClaim;
        });
        // Passkeys: Identity's WebAuthn handler; the relying party is the host the browser sees (ServerDomain unset),
        // and the options' challenge waits in the two-factor cookie between the two requests.
        services.AddScoped<IPasskeyHandler<UserRecord>, PasskeyHandler<UserRecord>>();
        services.AddOptions<SecurityStampValidatorOptions>().Configure<IOptions<AccountOptions>>((stamps, accounts) =>
            stamps.ValidationInterval = TimeSpan.FromSeconds(accounts.Value.SessionRevalidationSeconds));
        services.AddOptions<DataProtectionTokenProviderOptions>().Configure<IOptions<AccountOptions>>((tokens, accounts) =>
            tokens.TokenLifespan = TimeSpan.FromHours(accounts.Value.ResetLinkHours));
        services.AddScoped<ISecurityStampValidator, SecurityStampValidator<UserRecord>>();

        services.AddScoped<AuthenticationStateProvider, AccountRevalidatingAuthenticationStateProvider>();
        services.AddScoped<AccountAdministration>();
        services.AddSingleton<BasicCredentialCache>();
        services.AddHostedService<AdminAccountSeeder>();
        return services;
    }

    private static Task ApiAwareRedirect(RedirectContext<CookieAuthenticationOptions> context, int apiStatus)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = apiStatus;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Identity's sign-in on the one identity cookie scheme (<see cref="UserIdentity.Scheme"/>). Every way into an account
/// (password, outside provider) signs in through <see cref="SignInTakingOverAsync"/>, so the anonymous user of the
/// browser hands its conversations over the same way whichever it is.
/// </summary>
public sealed class AccountSignInManager : SignInManager<UserRecord>
{
    private readonly IConversationHandover _handover;

    public AccountSignInManager(
        UserManager<UserRecord> userManager,
        IHttpContextAccessor contextAccessor,
        IUserClaimsPrincipalFactory<UserRecord> claimsFactory,
        IOptions<IdentityOptions> optionsAccessor,
        ILogger<SignInManager<UserRecord>> logger,
        IAuthenticationSchemeProvider schemes,
        IUserConfirmation<UserRecord> confirmation,
        IConversationHandover handover)
        : base(userManager, contextAccessor, claimsFactory, optionsAccessor, logger, schemes, confirmation)
    {
        AuthenticationScheme = UserIdentity.Scheme;
        _handover = handover;
    }

    /// <summary>
    /// Signs <paramref name="account"/> in on this browser (a persistent session carrying the account's security stamp).
    /// If the browser was an anonymous user, its conversations and the day's usage move to the account first, in one
    /// transaction (<see cref="IConversationHandover"/>), before the cookie changes. Returns how many conversations moved.
    /// </summary>
    public async Task<int> SignInTakingOverAsync(UserRecord account, string? authenticationMethod = null)
    {
        var context = Context;
        var moved = 0;
        if (!context.User.IsAccount() && context.User.GetUserId() is { } anonymousId && anonymousId != account.Id)
        {
            moved = await _handover.HandOverAsync(anonymousId, account.Id, context.RequestAborted);
            if (moved > 0)
            {
                AccountLog.ConversationsMoved(Logger, moved, anonymousId, account.UserName!);
            }
        }

        await SignInAsync(account, isPersistent: true, authenticationMethod);
        return moved;
    }
}
