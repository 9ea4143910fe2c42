using ChatPortal.Components.Pages.Chat;
using System.Threading.RateLimiting;
using ChatPortal.Core;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Telemetry;
using ChatPortal.Accounts;
using ChatPortal.Identity;
using ChatPortal.Admin;
using ChatPortal.Rendering;
using ChatPortal.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ChatPortal.Hosting;

public static class WebApplicationBuilderExtensions
{
    public const string MessagesRateLimit = MessageLimitMiddleware.PolicyName;

    /// <summary>Domain, engine and coordination (Core), with this node's name.</summary>
    public static IHostApplicationBuilder AddChatPortalCore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddChatPortalCore(builder.Configuration, NodeIdResolver.Resolve);
        builder.Services.AddSingleton<IValidateOptions<ChatPortalOptions>, HostingOptionsValidator>();
        builder.Services.AddHostedService<GenerationShutdown>();
        return builder;
    }

    /// <summary>Blazor, MudBlazor, identity, security (forwarded headers, limits, sign-in throttle), problem details and health checks.</summary>
    public static IHostApplicationBuilder AddChatPortalWeb(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddSingleton<MarkdownRenderer>();
        services.AddScoped<ChatNotices>();
        services.AddTransient<ChatSession>();
        services.AddProblemDetails();
        services.AddExceptionHandler<StoreFailureHandler>();

        services.AddChatPortalAccounts();
        services.AddSingleton<RedisInfoReader>();
        services.AddSingleton<MetricsHistory>();
        services.AddHostedService(sp => sp.GetRequiredService<MetricsHistory>());
        services.AddSingleton<IAdminDashboardSource, ClusterDashboardSource>();
        services.AddSingleton<UsageDashboard>();
        services.AddCascadingAuthenticationState();

        // The message limits are cluster-wide (MessageLimitMiddleware, IMessageLimiter); the endpoints' "messages"
        // policy name stays as the marker that middleware looks for, with no per-node limiter of its own.
        services.AddRateLimiter(options => options.AddPolicy(MessagesRateLimit, _ => RateLimitPartition.GetNoLimiter("messages")));
        services.AddChatPortalSecurity();

        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database").AddCheck<RedisHealthCheck>("redis");
        services.AddChatPortalCluster(builder.Configuration);
        return builder;
    }

    /// <summary>Meter "ChatPortal" and ASP.NET Core metrics to Prometheus at /metrics; OTLP when its endpoint is set.</summary>
    public static IHostApplicationBuilder AddChatPortalTelemetry(this IHostApplicationBuilder builder)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(ChatPortalMetrics.Name)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddSource(ChatPortalMetrics.Name)
                .AddAspNetCoreInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    public static WebApplication UseChatPortalPipeline(this WebApplication app)
    {
        app.UseChatPortalForwardedHeadersAndSecurityHeaders();

        // Which node answered: for operators behind a balancer, and for the balancer tests.
        var nodeId = app.Services.GetRequiredService<NodeIdentity>().Id;
        app.Use((context, next) =>
        {
            context.Response.Headers["X-ChatPortal-Node"] = nodeId;
            return next(context);
        });

        // A stopping node refuses what the balancer pins to it (pages, Blazor connections), so nginx sends those to
        // another node; the API goes on serving while running answers drain.
        var drain = app.Services.GetRequiredService<NodeDrain>();
        app.Use((context, next) => drain.IsDraining && !NodeDrain.ServedWhileDraining(context.Request.Path)
            ? NodeDrain.RefuseAsync(context)
            : next(context));
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A request the framework rejects (bad form, failed antiforgery) is the client's error, not a 500.
            StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        // A page a browser navigates to gets the not-found page; everything else (the API, form posts) gets
        // problem details for a bare status code.
        static bool IsPageNavigation(HttpContext context) =>
            HttpMethods.IsGet(context.Request.Method) && !context.Request.Path.StartsWithSegments("/api");
        app.UseWhen(context => !IsPageNavigation(context), other => other.UseStatusCodePages());
        app.UseWhen(IsPageNavigation, pages => pages.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));

        // Before anything acts on the request: a browser's cross-site POST changes nothing, not even the identity.
        app.UseMiddleware<CrossSiteRequestGuard>();
        app.UseAuthentication();
        app.UseUserIdentity();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseMiddleware<MessageLimitMiddleware>();
        app.UseAntiforgery();
        return app;
    }

    public static WebApplication MapChatPortalHealth(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHub<Hubs.TaskEventsHub>(Hubs.TaskEventsHub.Path);
        var circuits = app.Services.GetRequiredService<CircuitTracker>();
        app.Services.GetRequiredService<Core.Coordination.NodeActivity>().Circuits = () => circuits.Count;

        return app;
    }
}
