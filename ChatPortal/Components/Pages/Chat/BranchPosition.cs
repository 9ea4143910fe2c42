using ChatPortal.Core.Conversations;

namespace ChatPortal.Components.Pages.Chat;

/// <summary>Where a message stands among its siblings: 0-based <paramref name="Index"/> of <paramref name="Count"/>, and its neighbours.</summary>
public sealed record BranchPosition(int Index, int Count, string? PreviousId, string? NextId)
{
    /// <summary>The message's place among its siblings; null when it has none (nothing to switch to).</summary>
    public static BranchPosition? Of(ChatMessage message, ConversationTree tree)
    {
        var siblings = tree.SiblingsOf(message);
        var index = -1;
        for (var i = 0; i < siblings.Count && index < 0; i++)
        {
            index = siblings[i].Id == message.Id ? i : -1;
        }

        return siblings.Count < 2 || index < 0
            ? null
            : new BranchPosition(index, siblings.Count, index > 0 ? siblings[index - 1].Id : null, index < siblings.Count - 1 ? siblings[index + 1].Id : null);
    }
}

/// <summary>A question sent again with new text: a new version beside <paramref name="QuestionId"/>.</summary>
public sealed record QuestionEdit(string QuestionId, string Text);
