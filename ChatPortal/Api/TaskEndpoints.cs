using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Api;

/// <summary><c>/api/tasks</c>: a task's state, its stream from any node, and Stop.</summary>
public static class TaskEndpoints
{
    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/tasks").WithTags("Tasks");
        group.MapGet("/{taskId}", GetAsync);
        group.MapGet("/{taskId}/stream", StreamAsync);
        group.MapPost("/{taskId}/cancel", CancelAsync);
        return app;
    }

    private static async Task<IResult> GetAsync(string taskId, HttpContext context, GenerationEngine engine)
    {
        var view = await engine.GetTaskAsync(taskId, ApiUser.Id(context), context.RequestAborted);
        return view is null
            ? ApiUser.NotFound("The task")
            : TypedResults.Ok(new TaskDto(view.TaskId, view.ConversationId, view.Node ?? "", ApiText.Of(view.Status), view.Tokens));
    }

    private static async Task<IResult> StreamAsync(string taskId, HttpContext context, GenerationEngine engine, IConversationStore store)
    {
        var userId = ApiUser.Id(context);
        var view = await engine.GetTaskAsync(taskId, userId, context.RequestAborted);
        if (view is null)
        {
            return ApiUser.NotFound("The task");
        }

        if (view.Status == GenerationStatus.Running)
        {
            return new TaskStreamResult(new TaskInfo(taskId, view.ConversationId, view.UserId, view.Node ?? "", default), engine, announce: false);
        }

        // Ended: the stored answer is the whole stream.
        var answer = (await store.FindAnswerAsync(view.ConversationId, taskId, context.RequestAborted))?.Message;
        return new EndedStreamResult(answer?.Content ?? "", view.Status, answer?.Error);
    }

    internal static async Task<IResult> CancelAsync(string taskId, HttpContext context, GenerationEngine engine) =>
        ToResponse(await engine.CancelAsync(taskId, ApiUser.Id(context), context.RequestAborted));

    internal static IResult ToResponse(CancelResult result) => result.Outcome switch
    {
        CancelOutcome.Stopped => TypedResults.Ok(new CancelResponse(result.TaskId, ApiText.Of(result.Status), result.OwnerNode)),
        CancelOutcome.Pending => TypedResults.Json(new CancelResponse(result.TaskId, "cancelling", result.OwnerNode), statusCode: StatusCodes.Status202Accepted),
        _ => ApiUser.NotFound("The task"),
    };

    private sealed class EndedStreamResult(string text, GenerationStatus status, string? reason) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            ServerSentEvents.Start(context.Response);
            if (text.Length > 0)
            {
                await ServerSentEvents.WriteAsync(context.Response, "delta", new DeltaEvent(text), context.RequestAborted);
            }

            await ServerSentEvents.WriteAsync(context.Response, "done", new DoneEvent(ApiText.Of(status), reason), context.RequestAborted);
        }
    }
}
