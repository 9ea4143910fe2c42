using ChatPortal.Core.Generation;

namespace ChatPortal.Api;

/// <summary><c>/api/models</c>: the models a conversation can use on this node (ids, names and context windows; no endpoints or keys).</summary>
public static class ModelEndpoints
{
    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/models", (ModelCatalog models) => TypedResults.Ok(models.Models
            .Select(m => new ModelDto(m.Id, m.DisplayName, m.Provider.ToString(), m.ContextWindow, m == models.Default))
            .ToArray()))
            .WithTags("Models");
        return app;
    }
}
