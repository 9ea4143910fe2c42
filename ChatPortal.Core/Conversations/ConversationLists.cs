using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace ChatPortal.Core.Conversations;

/// <summary>
/// A delete takes a conversation away from every reader at once (list, search, reads, new answers), and stays
/// undoable for <see cref="RestoreWindow"/> on the database's clock. After <see cref="PurgeAfter"/> its row and its
/// messages are removed in one transaction. The two windows never overlap, so a restore and the purge cannot both act
/// on one conversation.
/// </summary>
public static class ConversationDeletion
{
    public static readonly TimeSpan RestoreWindow = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan PurgeAfter = RestoreWindow + TimeSpan.FromSeconds(15);
}

/// <summary>
/// Where a page of the conversation list ends: the last conversation's update time and id (the list's order).
/// Opaque to clients: <see cref="ToString"/> and <see cref="TryParse"/> round-trip it.
/// </summary>
public sealed record ConversationCursor(DateTimeOffset UpdatedAt, string Id)
{
    public static ConversationCursor After(ConversationSummary last) => new(last.UpdatedAt, last.Id);

    public override string ToString() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{UpdatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}:{Id}"));

    public static bool TryParse(string? value, out ConversationCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(value) || value.Length > 200)
        {
            return false;
        }

        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks
            || !Ids.IsConversationId(text[(colon + 1)..]))
        {
            return false;
        }

        cursor = new ConversationCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(colon + 1)..]);
        return true;
    }
}

/// <summary>One page of a user's conversations, most recently updated first; <see cref="Next"/> is null on the last page.</summary>
public sealed record ConversationPage(IReadOnlyList<ConversationSummary> Items, ConversationCursor? Next);
