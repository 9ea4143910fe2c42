namespace ChatPortal.Core.Conversations;

/// <summary>
/// A conversation's messages as the tree they form: each message hangs under its parent (the first question has
/// none); an edited question is a sibling of the question it replaces, a regenerated answer a sibling of the answer.
/// The branch on screen is the path from the first question down to the conversation's leaf (the last message of that
/// branch), and it is what the model is sent. Siblings are in the order they were written.
/// </summary>
public sealed class ConversationTree
{
    private static readonly IReadOnlyList<ChatMessage> None = [];

    private readonly Dictionary<string, ChatMessage> _byId;
    private readonly Dictionary<string, List<ChatMessage>> _children = new(StringComparer.Ordinal);
    private readonly List<ChatMessage> _roots = [];

    /// <param name="messages">Every message of the conversation, in the order written.</param>
    public ConversationTree(IReadOnlyList<ChatMessage> messages)
    {
        All = messages;
        _byId = new Dictionary<string, ChatMessage>(messages.Count, StringComparer.Ordinal);
        foreach (var message in messages)
        {
            _byId[message.Id] = message;
        }

        foreach (var message in messages)
        {
            if (message.ParentId is { } parent && _byId.ContainsKey(parent))
            {
                if (!_children.TryGetValue(parent, out var children))
                {
                    _children[parent] = children = [];
                }

                children.Add(message);
            }
            else
            {
                _roots.Add(message);
            }
        }
    }

    public static ConversationTree Empty { get; } = new([]);

    /// <summary>Every message, every branch, in the order written.</summary>
    public IReadOnlyList<ChatMessage> All { get; }

    /// <summary>The leaf when none is chosen: the newest message (a conversation that never branched is one line).</summary>
    public string? NewestId => All.Count > 0 ? All[^1].Id : null;

    public ChatMessage? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The messages under <paramref name="parentId"/> (null: the first questions), in the order written.</summary>
    public IReadOnlyList<ChatMessage> ChildrenOf(string? parentId) =>
        parentId is null ? _roots : _children.TryGetValue(parentId, out var children) ? children : None;

    /// <summary>The message and its siblings (the answers to one question, the versions of one question), in the order written.</summary>
    public IReadOnlyList<ChatMessage> SiblingsOf(ChatMessage message) =>
        message.ParentId is { } parent && _byId.ContainsKey(parent) ? ChildrenOf(parent) : _roots;

    /// <summary>From the first question down to <paramref name="leafId"/> (null or unknown: down to the newest message; no messages: empty).</summary>
    public IReadOnlyList<ChatMessage> PathTo(string? leafId)
    {
        if (leafId is null || !_byId.TryGetValue(leafId, out var message))
        {
            if (NewestId is not { } newest)
            {
                return None;
            }

            message = _byId[newest];
        }

        var path = new List<ChatMessage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (ChatMessage? at = message; at is not null && seen.Add(at.Id); at = at.ParentId is { } parent ? _byId.GetValueOrDefault(parent) : null)
        {
            path.Add(at);
        }

        path.Reverse();
        return path;
    }

    /// <summary>Where a branch through <paramref name="message"/> ends: down its newest child at every step.</summary>
    public ChatMessage NewestLeafUnder(ChatMessage message)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { message.Id };
        while (ChildrenOf(message.Id) is [.., var newest] && seen.Add(newest.Id))
        {
            message = newest;
        }

        return message;
    }
}
