using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Api;

/// <summary>
/// A task's stream as server-sent events, from any node. <paramref name="announce"/> starts with the
/// <c>task</c> event (the response to a sent message); a follower gets the text so far as its first delta.
/// </summary>
internal sealed class TaskStreamResult(TaskInfo task, GenerationEngine engine, bool announce) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        ServerSentEvents.Start(context.Response);
        try
        {
            if (announce)
            {
                await ServerSentEvents.WriteAsync(context.Response, "task", new TaskStartedEvent(task.TaskId, task.Node), aborted);
            }

            await ServerSentEvents.RelayAsync(context.Response, engine.FollowAsync(task, aborted), aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left; the generation goes on and is stored.
        }
    }
}
