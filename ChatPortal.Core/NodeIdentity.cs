namespace ChatPortal.Core;

/// <summary>The name of this node, as the UI, API and dashboard show it.</summary>
public sealed record NodeIdentity(string Id);

/// <summary>
/// This process's incarnation: every start is a new instance, so a node restarted under the same name never
/// inherits the claims (or the lease) of the process that died. It changes only when the lease was lost.
/// </summary>
public sealed class NodeInstance
{
    private volatile string _id = $"{Ids.NewMessageId()}";

    public string Id => _id;

    /// <summary>A new incarnation after this one was judged dead (its claims are gone; new answers need a new lease).</summary>
    public string Renew() => _id = Ids.NewMessageId();
}
