using ChatPortal.Accounts;
using ChatPortal.Admin;
using ChatPortal.Identity;
using Microsoft.Extensions.Options;

namespace ChatPortal.Api;

/// <summary><c>/api/admin</c>: every running task on every node, cancel any of them, the cluster overview, usage and accounts. HTTP Basic.</summary>
public static class AdminEndpoints
{
    public const string Policy = "admin-api";

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(Policy);
        group.MapGet("/tasks", async (IAdminDashboardSource source, CancellationToken cancellationToken) =>
            TypedResults.Ok(await source.ListTasksAsync(cancellationToken)));
        group.MapPost("/tasks/{taskId}/cancel", async (string taskId, IAdminDashboardSource source, CancellationToken cancellationToken) =>
            TaskEndpoints.ToResponse(await source.CancelAsync(taskId, cancellationToken)));
        group.MapGet("/overview", async (IAdminDashboardSource source, CancellationToken cancellationToken) =>
            TypedResults.Ok(await source.GetOverviewAsync(cancellationToken)));
        group.MapGet("/usage", async (string? range, [Microsoft.AspNetCore.Mvc.FromServices] UsageDashboard usage, CancellationToken cancellationToken) =>
            UsageDashboard.TryParsePeriod(range, out var period)
                ? Results.Ok(await usage.GetAsync(period, cancellationToken))
                : TypedResults.Problem(
                    detail: $"Unknown range '{range}': use today, 7d or 30d.",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Invalid range"));
        group.MapGet("/users", async (AccountAdministration accounts, CancellationToken cancellationToken) =>
            TypedResults.Ok(await accounts.ListAsync(cancellationToken)));
        group.MapPut("/users/{userId}/admin", (string userId, HttpContext context, AccountAdministration accounts) => SetAdminAsync(userId, true, context, accounts));
        group.MapDelete("/users/{userId}/admin", (string userId, HttpContext context, AccountAdministration accounts) => SetAdminAsync(userId, false, context, accounts));
        group.MapPost("/users/{userId}/reset-link", async (string userId, HttpContext context, AccountAdministration accounts, IOptions<AccountOptions> options) =>
            await accounts.IssueResetLinkAsync(context.User.Identity?.Name ?? "", userId, BaseUri(context), TimeSpan.FromHours(options.Value.ResetLinkHours)) is { } link
                ? Results.Ok(link)
                : ApiUser.NotFound("The account"));
        return app;
    }

    private static async Task<IResult> SetAdminAsync(string userId, bool admin, HttpContext context, AccountAdministration accounts) =>
        await accounts.SetAdminAsync(context.User.GetUserId() ?? "", context.User.Identity?.Name ?? "", userId, admin) switch
        {
            AccountChange.Done => TypedResults.NoContent(),
            AccountChange.OwnRole => TypedResults.Problem(
                detail: "An admin cannot revoke their own admin role: ask another admin.",
                statusCode: StatusCodes.Status409Conflict,
                title: "Own role"),
            _ => ApiUser.NotFound("The account"),
        };

    /// <summary>The address the admin reached this node by (the balancer's, through trusted forwarded headers).</summary>
    internal static Uri BaseUri(HttpContext context) =>
        new($"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}/");
}
