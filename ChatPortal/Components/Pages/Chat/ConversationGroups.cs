using ChatPortal.Core.Conversations;

namespace ChatPortal.Components.Pages.Chat;

/// <summary>How long ago a conversation was last updated, in the reader's own calendar days.</summary>
public enum ConversationAge
{
    Today,
    Yesterday,
    PreviousSevenDays,
    Older,
}

/// <summary>A run of the list under one heading.</summary>
public sealed record ConversationGroup(ConversationAge Age, IReadOnlyList<ConversationSummary> Conversations)
{
    public string Heading => ConversationGroups.Heading(Age);
}

/// <summary>
/// The list's date headings: Today, Yesterday, Previous 7 days, Older, counted in calendar days of the reader's time
/// zone (a conversation of 23:50 yesterday is "Yesterday" at 00:10 today, not "Today").
/// </summary>
public static class ConversationGroups
{
    public static string Heading(ConversationAge age) => age switch
    {
        ConversationAge.Today => "Today",
        ConversationAge.Yesterday => "Yesterday",
        ConversationAge.PreviousSevenDays => "Previous 7 days",
        _ => "Older",
    };

    public static ConversationAge AgeOf(DateTimeOffset updatedAt, DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(updatedAt, zone).DateTime);
        return (today.DayNumber - day.DayNumber) switch
        {
            <= 0 => ConversationAge.Today, // a clock a little ahead is still today
            1 => ConversationAge.Yesterday,
            <= 7 => ConversationAge.PreviousSevenDays,
            _ => ConversationAge.Older,
        };
    }

    /// <summary>Consecutive runs of the list (most recent first) under their headings; empty groups are left out.</summary>
    public static IReadOnlyList<ConversationGroup> Of(IEnumerable<ConversationSummary> conversations, DateTimeOffset now, TimeZoneInfo zone)
    {
        var groups = new List<ConversationGroup>();
        List<ConversationSummary>? run = null;
        ConversationAge? age = null;
        foreach (var conversation in conversations)
        {
            var itsAge = AgeOf(conversation.UpdatedAt, now, zone);
            if (itsAge != age)
            {
                run = [];
                age = itsAge;
                groups.Add(new ConversationGroup(itsAge, run));
            }

            run!.Add(conversation);
        }

        return groups;
    }
}
