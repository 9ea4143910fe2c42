namespace ChatPortal.Core.Conversations;

/// <summary>
/// Hands an anonymous user's conversations to the account they signed in to (with a password or through an outside
/// provider). One transaction; the conversations (deleted ones still in their undo window included, a running answer's
/// claim with its conversation) and the day's usage move together, so nothing is left half with each user.
/// </summary>
public interface IConversationHandover
{
    /// <summary>
    /// Moves every conversation of <paramref name="fromUserId"/> to the account <paramref name="toUserId"/>, only while
    /// the former is anonymous (no user name) and the latter an account: an account's conversations never move, and
    /// nothing moves to a user that is not an account. Returns how many moved.
    /// </summary>
    Task<int> HandOverAsync(string fromUserId, string toUserId, CancellationToken cancellationToken = default);
}
