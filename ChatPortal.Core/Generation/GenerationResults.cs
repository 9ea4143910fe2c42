using ChatPortal.Core.Tasks;
namespace ChatPortal.Core.Generation;

public enum StartOutcome
{
    Started,
    ConversationNotFound,
    AlreadyRunning,
    NothingToRegenerate,

    /// <summary>The user already has as many answers running as <c>Limits:ConcurrentAnswersPerUser</c> allows.</summary>
    TooManyAnswers,

    /// <summary>The question to edit or the answer to write again is not one of the conversation's.</summary>
    MessageNotFound,

    /// <summary>The user's answers of the day used <c>Limits:TokensPerUserPerDay</c> (see <see cref="StartResult.Quota"/>).</summary>
    QuotaExceeded,

    /// <summary>The model asked for is not configured.</summary>
    UnknownModel,
}

public sealed record StartResult(StartOutcome Outcome, GenerationTask? Task = null, TaskInfo? RunningTask = null, Limits.DailyTokenQuota? Quota = null);

public enum CancelOutcome
{
    /// <summary>The owner stopped the task (or it had already ended): the final state is known.</summary>
    Stopped,

    /// <summary>The cancel is recorded but the owner did not confirm in time.</summary>
    Pending,

    NotFound,
}

public sealed record CancelResult(CancelOutcome Outcome, string TaskId, GenerationStatus Status, string? OwnerNode)
{
    public static CancelResult NotFound(string taskId) => new(CancelOutcome.NotFound, taskId, GenerationStatus.Failed, null);
}

/// <summary>A task as the API shows it, running or ended.</summary>
public sealed record TaskView(string TaskId, string ConversationId, string UserId, string? Node, GenerationStatus Status, int Tokens);
