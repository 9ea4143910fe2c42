using ChatPortal.Core.Tasks;
using Microsoft.AspNetCore.SignalR;

namespace ChatPortal.Hubs;

/// <summary>
/// Live task events for a user's tabs and devices on every node, and for outside clients (<c>/hubs/tasks</c>):
/// each event goes to its user only. (Administrators watch every task on <c>/admin</c> or <c>/api/admin</c>.) There
/// is no SignalR backplane: every node already hears every node's task starts and ends on its one lifecycle-events
/// subscription, so each node sends each event to its own connections of that user. No Redis message is spent on
/// the hub, and Blazor's circuits never depend on Redis.
/// </summary>
public sealed class TaskEventsHub : Hub
{
    public const string Path = "/hubs/tasks";
    public const string EventMethod = "taskEvent";
}

public sealed record TaskEventDto(string Kind, string TaskId, string ConversationId, string Node, string Status, int Tokens, double? CancelLatencyMs);

/// <summary>Sends every task event this node hears (its own, and other nodes' from the events subscription) to its own hub connections of the task's user.</summary>
internal sealed class TaskEventsBroadcaster(TaskLifecycleEvents events, IHubContext<TaskEventsHub> hub, ILogger<TaskEventsBroadcaster> logger) : IHostedService
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
