using ChatPortal.Admin;

namespace ChatPortal.Api;

/// <summary><c>/api/admin</c>: every running task on every node, cancel any of them, the cluster overview and usage. HTTP Basic.</summary>
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
        return app;
    }
}
