using ChatPortal.Core.Tasks;
using Microsoft.AspNetCore.SignalR;

namespace ChatPortal.Hubs;

/// <summary>
/// Live task events for a user's tabs and devices on every node, and for outside clients (<c>/hubs/tasks</c>):
/// each event goes to its user only, one backplane message per event. (Administrators watch every task on
/// <c>/admin</c> or <c>/api/admin</c>.) In Redis mode this hub, and only this hub, uses the Redis backplane:
/// Blazor's own circuits never depend on Redis.
/// </summary>
public sealed class TaskEventsHub : Hub
{
    public const string Path = "/hubs/tasks";
    public const string EventMethod = "taskEvent";
}

public sealed record TaskEventDto(string Kind, string TaskId, string ConversationId, string Node, string Status, int Tokens, double? CancelLatencyMs);

/// <summary>Sends this node's task events to the hub; the backplane carries them to clients on other nodes.</summary>
internal sealed class TaskEventsBroadcaster(TaskLifecycleEvents events, IHubContext<TaskEventsHub> hub, Core.NodeIdentity node, ILogger<TaskEventsBroadcaster> logger) : IHostedService
{
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = events.Subscribe(OnEvent);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        return Task.CompletedTask;
    }

    private void OnEvent(TaskLifecycleEvent evt)
    {
        if (evt.Info.Node != node.Id)
        {
            return; // its owner's broadcaster sends it
        }

        var dto = new TaskEventDto(evt.Kind.ToString().ToLowerInvariant(), evt.Info.TaskId, evt.Info.ConversationId, evt.Info.Node,
            evt.Status.ToString().ToLowerInvariant(), evt.Tokens, evt.CancelLatencyMs);
        _ = SendAsync(evt.Info.UserId, dto);
    }

    private async Task SendAsync(string userId, TaskEventDto dto)
    {
        try
        {
            await hub.Clients.User(userId).SendAsync(TaskEventsHub.EventMethod, dto);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Task event {TaskId} not broadcast.", dto.TaskId);
        }
    }
}
