using ChatPortal.Core.Conversations;

namespace ChatPortal.Core.Tasks;

/// <summary>A task as the engine knows it and as the store records it: the one mapping between the two.</summary>
public static class TaskStates
{
    public static TaskInfo ToInfo(ActiveAnswer active) =>
        new(active.TaskId, active.ConversationId, active.UserId, active.Node, active.StartedAt);

    public static MessageStatus ToMessageStatus(GenerationStatus status) => status switch
    {
        GenerationStatus.Completed => MessageStatus.Completed,
        GenerationStatus.Cancelled => MessageStatus.Cancelled,
        GenerationStatus.Failed => MessageStatus.Failed,
        _ => MessageStatus.Streaming,
    };

    public static GenerationStatus ToGenerationStatus(MessageStatus status) => status switch
    {
        MessageStatus.Completed => GenerationStatus.Completed,
        MessageStatus.Cancelled => GenerationStatus.Cancelled,
        MessageStatus.Failed => GenerationStatus.Failed,
        _ => GenerationStatus.Running,
    };
}
