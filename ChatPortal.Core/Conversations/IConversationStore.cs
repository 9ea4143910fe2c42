namespace ChatPortal.Core.Conversations;

/// <summary>
/// Conversations, their history, and the claims of running answers: the system of record. Every read and
/// write that a user makes names the user: a conversation of another user is reported as not found.
/// A failure of the database surfaces as <see cref="StoreUnavailableException"/>, never as "not found".
/// </summary>
public interface IConversationStore
{
    Task<ConversationSummary> CreateAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>The conversation with its messages, whoever owns it (callers check <see cref="Conversation.UserId"/>).</summary>
    Task<Conversation?> FindAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>The conversation with its messages, or null when it does not exist or is not the user's.</summary>
    async Task<Conversation?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken = default) =>
        await FindAsync(conversationId, cancellationToken).ConfigureAwait(false) is { } conversation && conversation.UserId == userId
            ? conversation
            : null;

    /// <summary>The user's conversations, most recently updated first.</summary>
    Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of at most <paramref name="limit"/> of the user's conversations, most recently updated first, starting after
    /// <paramref name="after"/> (null: the first page).
    /// </summary>
    Task<ConversationPage> ListPageAsync(string userId, int limit, ConversationCursor? after = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The user's conversations whose title or messages contain every word of <paramref name="query"/> (as word
    /// prefixes), by the database's full-text index: title matches first, then the most recently updated; at most
    /// <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<ConversationMatch>> SearchAsync(string userId, SearchQuery query, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Undoes a delete within <see cref="ConversationDeletion.RestoreWindow"/>; null when there is nothing of the user's to
    /// restore (never deleted, unknown, another user's, or past the window).
    /// </summary>
    Task<ConversationSummary?> RestoreAsync(string userId, string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Clears the history; the conversation stays. Refused while an answer runs in it.</summary>
    Task<HistoryChange> ClearAsync(string userId, string conversationId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the conversation: at once it is no longer listed, found, searched or answered; it can be restored for
    /// <see cref="ConversationDeletion.RestoreWindow"/>, then it is purged with its messages. Refused while an answer runs in it.
    /// </summary>
    Task<HistoryChange> DeleteAsync(string userId, string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Renames the conversation; null when it does not exist or is not the user's.</summary>
    Task<ConversationSummary?> RenameAsync(string userId, string conversationId, string title, CancellationToken cancellationToken = default);

    /// <summary>Chooses the conversation's model (null: the configured default); false when it does not exist or is not the user's.</summary>
    Task<bool> SetModelAsync(string userId, string conversationId, string? modelId, CancellationToken cancellationToken = default);

    /// <summary>Sets the conversation's instructions (null: the configured default); false when it does not exist or is not the user's.</summary>
    Task<bool> SetInstructionsAsync(string userId, string conversationId, string? instructions, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a title the conversation took from its first question by one the model wrote: only while the title is
    /// still <paramref name="expected"/> (a rename by the user wins). True when replaced.
    /// </summary>
    Task<bool> ReplaceTitleAsync(string conversationId, string expected, string title, CancellationToken cancellationToken = default);

    /// <summary>
    /// Shows the branch through <paramref name="messageId"/> (down its newest messages). Refused while an answer runs in
    /// the conversation; <see cref="HistoryChange.NotFound"/> for an unknown message too.
    /// </summary>
    Task<HistoryChange> SelectBranchAsync(string userId, string conversationId, string messageId, CancellationToken cancellationToken = default);

    /// <summary>
    /// One transaction: claims the conversation for a new answer (a conditional update: only if no answer runs
    /// in it), stores the question under the branch on screen (or as a new version of an earlier question; or, to
    /// regenerate, adds a sibling answer to the same question), makes it the branch on screen, and returns that branch:
    /// the history the prompt is built from.
    /// </summary>
    Task<AnswerStartResult> StartAnswerAsync(AnswerStart start, CancellationToken cancellationToken = default);

    /// <summary>
    /// One transaction: stores the answer and releases the claim, only if the claim is still the one the
    /// answer started with (fencing). Idempotent: a commit that already landed reports so.
    /// </summary>
    Task<AnswerCommitOutcome> CommitAnswerAsync(AnswerCommit commit, CancellationToken cancellationToken = default);

    /// <summary>The answer running in a conversation, or null.</summary>
    Task<ActiveAnswer?> FindActiveAnswerAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Every running answer of the cluster, oldest first.</summary>
    Task<IReadOnlyList<ActiveAnswer>> ListActiveAnswersAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a Stop for a running answer (the owner picks it up at its next lease renewal, or at once by
    /// push). <paramref name="userId"/> null means an administrator.
    /// </summary>
    Task<ActiveAnswer?> RequestCancelAsync(string taskId, string conversationId, string? userId, CancellationToken cancellationToken = default);

    /// <summary>A stored answer (the final record of a task) with its conversation's owner, or null.</summary>
    Task<StoredAnswer?> FindAnswerAsync(string conversationId, string taskId, CancellationToken cancellationToken = default);
}

public enum HistoryChange
{
    Done,
    NotFound,
    AnswerRunning,
}

/// <summary>An answer holding its conversation's claim.</summary>
public sealed record ActiveAnswer(string TaskId, string ConversationId, string UserId, string Node, string Instance, DateTimeOffset StartedAt, long Fence, bool CancelRequested);

/// <param name="Question">The question to store; null to regenerate an answer.</param>
/// <param name="MaxConcurrentAnswers">Answers the user may have running at once, this one included.</param>
/// <param name="ModelId">A model to choose for the conversation with this answer (stored with the claim); null: keep its model.</param>
/// <param name="TokensPerDay">The user's daily token quota (UTC day of <paramref name="StartedAt"/>); 0: none.</param>
public sealed record AnswerStart(
    string TaskId,
    string ConversationId,
    string UserId,
    string Node,
    string Instance,
    DateTimeOffset StartedAt,
    string? Question,
    int MaxConcurrentAnswers,
    string? ModelId = null,
    long TokensPerDay = 0)
{
    /// <summary>
    /// A branch: with a question, the id of the question it is a new version of (the new one gets the same parent);
    /// without, the id of the answer to write again (the new answer is its sibling). Null: the question follows the
    /// branch on screen, or the last answer of that branch is written again.
    /// </summary>
    public string? BranchFrom { get; init; }
}

public enum AnswerStartOutcome
{
    Claimed,
    ConversationNotFound,
    AnswerRunning,
    NothingToRegenerate,
    TooManyAnswers,

    /// <summary><see cref="AnswerStart.BranchFrom"/> is not a question (with a question) or an answer (without) of the conversation.</summary>
    MessageNotFound,

    /// <summary>The user's answers of the day already used <see cref="AnswerStart.TokensPerDay"/>.</summary>
    QuotaExceeded,
}

/// <param name="History">The messages the prompt is built from, the question included (when claimed).</param>
/// <param name="ParentId">The message the answer will answer (the question).</param>
/// <param name="Instructions">The conversation's instructions; null: the configured default.</param>
/// <param name="ModelId">The conversation's model; null: the configured default.</param>
/// <param name="TokensUsedToday">For <see cref="AnswerStartOutcome.QuotaExceeded"/>: what the user's answers used today.</param>
public sealed record AnswerStartResult(
    AnswerStartOutcome Outcome,
    long Fence = 0,
    IReadOnlyList<ChatMessage>? History = null,
    string? ParentId = null,
    ActiveAnswer? Running = null,
    string? Instructions = null,
    string? ModelId = null,
    long TokensUsedToday = 0);

public sealed record AnswerCommit(string ConversationId, string TaskId, long Fence, ChatMessage Answer);

public enum AnswerCommitOutcome
{
    Committed,

    /// <summary>A retry of a commit that had landed: nothing written twice.</summary>
    AlreadyCommitted,

    /// <summary>The claim is no longer this answer's (its owner was judged dead): nothing written.</summary>
    Fenced,
}

public sealed record StoredAnswer(string UserId, ChatMessage Message);

/// <summary>The database cannot be reached; the caller should retry (the API answers 503), not treat it as "not found".</summary>
public sealed class StoreUnavailableException(string what, Exception? inner = null)
    : Exception($"{what} is not possible while the database is unreachable; try again in a moment.", inner);
