using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace ChatPortal.Security;

/// <summary>Registration and pipeline of the web layer's protections: one place, called by the hosting extensions.</summary>
public static class SecurityServiceCollectionExtensions
{
    /// <summary>Options, forwarded headers from trusted proxies only, the cluster-wide counters, limiter and throttle.</summary>
    public static IServiceCollection AddChatPortalSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>()
            .BindConfiguration(SecurityOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();

        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<SecurityOptions>>((forwarded, security) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            // The defaults trust loopback; here only what the operator lists is trusted (empty: nobody).
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in security.Value.TrustedNetworks())
            {
                forwarded.KnownIPNetworks.Add(network);
            }

            forwarded.ForwardLimit = security.Value.ForwardLimit;
        });

        // Secure cookies behind TLS: SameAsRequest follows the scheme the browser used (X-Forwarded-Proto from a trusted balancer).
        services.AddAntiforgery(options => options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        services.AddHttpContextAccessor();

        services.AddSingleton<IMessageLimiter, MessageLimiter>();
        services.AddScoped<PageMessageLimits>();
        services.AddSingleton<SignInThrottle>();
        return services;
    }

    /// <summary>First in the pipeline: the client's real address and scheme, then headers on every response.</summary>
    public static WebApplication UseChatPortalForwardedHeadersAndSecurityHeaders(this WebApplication app)
    {
        // With no known proxy at all, ForwardedHeadersMiddleware believes every sender: leave it out instead.
        if (app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value.TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        app.UseMiddleware<SecurityHeaders>();
        if (!app.Environment.IsDevelopment())
        {
            // Only over HTTPS (the middleware checks), never for localhost.
            app.UseHsts();
        }

        return app;
    }
}
