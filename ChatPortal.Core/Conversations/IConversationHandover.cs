namespace ChatPortal.Core.Conversations;

/// <summary>
/// Hands one user's conversations to another: what an anonymous user keeps when they sign in to an account. One
/// transaction; the conversations (deleted ones still in their undo window included, a running answer's claim with its
/// conversation) and the day's usage move together, so nothing is left half with each user.
/// </summary>
public interface IConversationHandover
{
    /// <summary>Moves every conversation of <paramref name="fromUserId"/> to <paramref name="toUserId"/> (created if new); returns how many moved.</summary>
    Task<int> HandOverAsync(string fromUserId, string toUserId, CancellationToken cancellationToken = default);
}
