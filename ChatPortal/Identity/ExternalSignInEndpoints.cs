using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ChatPortal.Identity;

/// <summary>
/// Sign-in through an outside OpenID Connect provider, when <c>ChatPortal:Authentication:Oidc</c> is configured: the
/// sign-in page's button posts to <c>/account/external-login</c> (antiforgery-checked), the provider comes back to
/// <c>/signin-oidc</c> (the handler checks state, nonce, PKCE, signature, issuer and audience), and
/// <c>/account/external-callback</c> hands the result to <see cref="ExternalSignIn"/>, which signs in to the provider's
/// account. These routes stay open without an account when <c>Accounts:AllowAnonymous</c> is off.
/// </summary>
public static class ExternalSignInEndpoints
{
    /// <summary>The scheme of the configured provider (one today; accounts may add more).</summary>
    public const string OidcScheme = OpenIdConnectDefaults.AuthenticationScheme;

    public const string CallbackPath = "/signin-oidc";

    private const string ProviderItem = "provider";

    /// <summary>Registers the provider as an external scheme, only when its authority is configured.</summary>
    public static IHostApplicationBuilder AddChatPortalExternalSignIn(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OidcOptions>().BindConfiguration(OidcOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OidcOptions>, OidcOptionsValidator>();
        services.AddScoped<ExternalSignIn>();

        var oidc = builder.Configuration.GetSection(OidcOptions.SectionName).Get<OidcOptions>() ?? new OidcOptions();
        if (!oidc.Enabled || !Uri.TryCreate(oidc.Authority, UriKind.Absolute, out var authority))
        {
            return builder; // off, or refused at start by the validator with the key's name
        }

        // The sign-in button's post is redirected to the provider: the Content-Security-Policy's form-action must allow it.
        var providerOrigin = authority.GetLeftPart(UriPartial.Authority);
        services.PostConfigure<SecurityOptions>(security => security.FormActionOrigins.Add(providerOrigin));

        // The provider's answer is kept in Identity's external cookie (see AddChatPortalAccounts) until the callback.
        services.AddAuthentication()
            .AddOpenIdConnect(OidcScheme, oidc.DisplayName, options =>
            {
                options.SignInScheme = ExternalSignIn.CookieScheme;
                options.Authority = oidc.Authority;
                options.ClientId = oidc.ClientId;
                options.ClientSecret = string.IsNullOrEmpty(oidc.ClientSecret) ? null : oidc.ClientSecret;
                options.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
                options.CallbackPath = CallbackPath;
                options.ResponseType = "code";
                options.UsePkce = true;
                options.Scope.Clear();
                foreach (var scope in new[] { "openid", "profile", "email" })
                {
                    options.Scope.Add(scope);
                }

                options.MapInboundClaims = false; // keep "sub", "name", "email" as the provider wrote them
                options.SaveTokens = false;

                // The code comes back in the query of a top-level GET: SameSite=Lax cookies (correlation, nonce, identity)
                // come with it, where form_post's cross-site POST would need SameSite=None (https only) and would meet the
                // cross-site guard that refuses foreign POSTs.
                options.ResponseMode = "query";
                options.CorrelationCookie.SameSite = SameSiteMode.Lax;
                options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.NonceCookie.SameSite = SameSiteMode.Lax;
                options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;

                options.Events.OnRemoteFailure = context =>
                {
                    var logger = context.HttpContext.RequestServices.GetRequiredService<ILogger<ExternalSignIn>>();
                    ExternalSignInLog.Failed(logger, OidcScheme, context.Failure?.Message ?? "unknown");
                    context.Response.Redirect("/login?external=failed");
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });
        return builder;
    }

    public static IEndpointRouteBuilder MapExternalSignIn(this IEndpointRouteBuilder app)
    {
        app.MapPost("/account/external-login", ChallengeAsync);
        app.MapGet("/account/external-callback", CallbackAsync);
        return app;
    }

    private static async Task<IResult> ChallengeAsync(HttpContext context, IAuthenticationSchemeProvider schemes, [FromForm] string? provider, [FromForm] string? returnUrl)
    {
        if (provider is not { Length: > 0 } || await schemes.GetSchemeAsync(provider) is not { DisplayName: not null, HandlerType: var handler } || !typeof(IAuthenticationRequestHandler).IsAssignableFrom(handler))
        {
            return TypedResults.Problem(
                detail: $"No sign-in provider '{provider}' is configured here.",
                statusCode: StatusCodes.Status400BadRequest,
                title: "Unknown sign-in provider");
        }

        var target = IsLocal(returnUrl) ? returnUrl! : "/";
        var properties = new AuthenticationProperties { RedirectUri = $"/account/external-callback?returnUrl={Uri.EscapeDataString(target)}" };
        properties.Items[ProviderItem] = provider;
        try
        {
            await context.ChallengeAsync(provider, properties); // reads the provider's discovery document (cached) first
            return TypedResults.Empty;
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException && !context.Response.HasStarted)
        {
            // The provider cannot be reached: the person is told on the sign-in page, not with a 500.
            ExternalSignInLog.Failed(context.RequestServices.GetRequiredService<ILogger<ExternalSignIn>>(), provider, ex.Message);
            return TypedResults.LocalRedirect("/login?external=failed");
        }
    }

    private static async Task<IResult> CallbackAsync(HttpContext context, ExternalSignIn signIn, IAuthenticationSchemeProvider schemes, [FromQuery] string? returnUrl)
    {
        var result = await context.AuthenticateAsync(ExternalSignIn.CookieScheme);
        var provider = result.Properties?.Items.TryGetValue(ProviderItem, out var p) == true && p is not null ? p : OidcScheme;
        var displayName = (await schemes.GetSchemeAsync(provider))?.DisplayName;
        if (!result.Succeeded || await signIn.SignInAsync(context, result.Principal, provider, displayName) is null)
        {
            await context.SignOutAsync(ExternalSignIn.CookieScheme);
            return TypedResults.LocalRedirect("/login?external=failed");
        }

        return TypedResults.LocalRedirect(IsLocal(returnUrl) ? returnUrl! : "/");
    }

    private static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
