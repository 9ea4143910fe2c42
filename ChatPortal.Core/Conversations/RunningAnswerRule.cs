namespace ChatPortal.Core.Conversations;

/// <summary>A change to a conversation's history that a running answer stands in the way of.</summary>
public enum HistoryEdit
{
    /// <summary>Clearing the history: refused while an answer runs (it would commit into an empty conversation).</summary>
    Clear,

    /// <summary>Showing another branch: refused while an answer runs (its branch stays on screen until it ends).</summary>
    SwitchBranch,

    /// <summary>Deleting the conversation: a running answer in it is stopped first.</summary>
    Delete,
}

/// <summary>
/// The rule "no clearing, switching branch or deleting under a running answer", said once. The store's conditional
/// update is the authority (it refuses with <see cref="HistoryChange.AnswerRunning"/> whatever a caller believed); the
/// page and the API ask here whether to offer an edit and what to say when the store refused one.
/// </summary>
public static class RunningAnswerRule
{
    /// <summary>
    /// Whether <paramref name="edit"/> may be attempted while an answer is (<paramref name="answerRunning"/>) or is not
    /// running: clearing and switching wait for the answer; a delete stops it first, so it is always allowed.
    /// </summary>
    public static bool Allows(HistoryEdit edit, bool answerRunning) => !answerRunning || edit == HistoryEdit.Delete;

    /// <summary>Why the store refused <paramref name="edit"/> (<see cref="HistoryChange.AnswerRunning"/>): the page's notice and the API's 409 detail.</summary>
    public static string Refusal(HistoryEdit edit) => edit switch
    {
        HistoryEdit.Clear => "An answer is being generated in this conversation; stop it or wait for it before clearing the history.",
        HistoryEdit.SwitchBranch => "An answer is being generated in this conversation; its branch stays on screen until it ends.",
        HistoryEdit.Delete => "The answer being generated in this conversation did not stop in time; try again in a moment.",
        _ => throw new ArgumentOutOfRangeException(nameof(edit), edit, null),
    };
}
