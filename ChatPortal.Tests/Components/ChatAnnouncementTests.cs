using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Components;

public sealed class ChatAnnouncementTests
{
    [Theory]
    [InlineData(MessageStatus.Completed, "Answer complete")]
    [InlineData(MessageStatus.Cancelled, "Answer stopped")]
    [InlineData(MessageStatus.Failed, "Answer failed")]
    [InlineData(MessageStatus.Streaming, "Answer failed")] // stored as still streaming after its stream ended: it did not complete
    public void TheLiveRegionSaysHowTheAnswerEnded(MessageStatus status, string expected)
    {
        Assert.Equal(expected, ChatSession.Announce(status));
    }
}
