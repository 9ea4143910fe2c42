using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Unit;

public sealed class ConversationGroupsTests
{
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");

    // 00:10 on 15 March 2025 in Paris (UTC+1): 23:10 on the 14th in UTC.
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 23, 10, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, ConversationAge.Today)]             // 00:10 local
    [InlineData(5, ConversationAge.Today)]             // 00:05 local, same day
    [InlineData(15, ConversationAge.Yesterday)]        // 23:55 local the day before: calendar days, not 24 hours
    [InlineData(60 * 24, ConversationAge.Yesterday)]
    [InlineData(60 * 24 + 15, ConversationAge.PreviousSevenDays)]
    [InlineData(60 * 24 * 7, ConversationAge.PreviousSevenDays)]
    [InlineData(60 * 24 * 7 + 15, ConversationAge.Older)]
    [InlineData(60 * 24 * 400, ConversationAge.Older)]
    [InlineData(-30, ConversationAge.Today)]           // a clock a little ahead
    public void AgeCountsCalendarDaysInTheReadersZone(int minutesAgo, ConversationAge expected)
    {
        Assert.Equal(expected, ConversationGroups.AgeOf(Now.AddMinutes(-minutesAgo), Now, Paris));
    }

    [Fact]
    public void TheSameMomentIsTodayInOneZoneAndYesterdayInAnother()
    {
        var updated = Now.AddMinutes(-20); // 22:50 UTC on the 14th, 23:50 in Paris on the 14th

        Assert.Equal(ConversationAge.Today, ConversationGroups.AgeOf(updated, Now, TimeZoneInfo.Utc));
        Assert.Equal(ConversationAge.Yesterday, ConversationGroups.AgeOf(updated, Now, Paris));
    }

    [Fact]
    public void GroupsKeepTheListOrderAndLeaveEmptyOnesOut()
    {
        ConversationSummary At(string id, double daysAgo) => new(id, id, Now.AddDays(-daysAgo));
        var list = new[] { At("a", 0), At("b", 0), At("c", 3), At("d", 40), At("e", 41) };

        var groups = ConversationGroups.Of(list, Now, TimeZoneInfo.Utc);

        Assert.Equal(["Today", "Previous 7 days", "Older"], groups.Select(g => g.Heading));
        Assert.Equal([["a", "b"], ["c"], ["d", "e"]], groups.Select(g => g.Conversations.Select(c => c.Id).ToArray()));
        Assert.Empty(ConversationGroups.Of([], Now, TimeZoneInfo.Utc));
    }
}
