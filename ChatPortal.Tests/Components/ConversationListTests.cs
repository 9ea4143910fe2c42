using Bunit;
using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Components;

public sealed class ConversationListTests : ComponentTest
{
    private static readonly DateTimeOffset Now = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static readonly ConversationSummary[] Conversations =
    [
        new("aaaaaaaaaaaaaaaaaaaaaaaa", "Latest chat", Now),
        new("bbbbbbbbbbbbbbbbbbbbbbbb", "Redis questions", Now.AddMinutes(-5)),
        new("cccccccccccccccccccccccc", "New chat", Now.AddHours(-1)),
    ];

    [Fact]
    public void EachConversationIsAnItemLinkingToIt()
    {
        var cut = RenderList(activeId: null);

        var items = cut.FindAll("[data-testid=conversation-item]");
        Assert.Equal(Conversations.Select(c => c.Title), items.Select(i => i.TextContent.Trim()));
        Assert.Equal(Conversations.Select(c => $"/c/{c.Id}"), items.Select(i => i.GetAttribute("href")));
        Assert.Equal(Conversations.Select(c => c.Id), items.Select(i => i.GetAttribute("data-conversation-id")));
    }

    [Fact]
    public void OnlyTheActiveConversationIsMarked()
    {
        var cut = RenderList(activeId: Conversations[1].Id);

        var items = cut.FindAll("[data-testid=conversation-item]");
        Assert.Equal([false, true, false], items.Select(i => i.ClassList.Contains("cp-active")));
        Assert.Equal([null, "page", null], items.Select(i => i.GetAttribute("aria-current")));
    }

    [Fact]
    public void TheGeneratingConversationShowsTheLiveDot()
    {
        var cut = Render<ConversationList>(p => p
            .Add(c => c.Conversations, Conversations)
            .Add(c => c.ActiveId, Conversations[0].Id)
            .Add(c => c.GeneratingId, Conversations[2].Id)
            .Add(c => c.OnNew, () => { }));

        var dot = cut.Find("[data-testid=conversation-generating]");
        Assert.Equal(Conversations[2].Id, dot.Closest("[data-testid=conversation-item]")?.GetAttribute("data-conversation-id"));
        Assert.Single(cut.FindAll("[data-testid=conversation-generating]"));
    }

    [Fact]
    public void NoConversationsMeansNoItems()
    {
        var cut = Render<ConversationList>(p => p
            .Add(c => c.Conversations, Array.Empty<ConversationSummary>())
            .Add(c => c.OnNew, () => { }));

        Assert.Empty(cut.FindAll("[data-testid=conversation-item]"));
        Assert.Single(cut.FindAll("[data-testid=new-conversation]"));
    }

    [Fact]
    public void NewChatInvokesOnNew()
    {
        var created = 0;
        var cut = Render<ConversationList>(p => p
            .Add(c => c.Conversations, Conversations)
            .Add(c => c.OnNew, () => created++));

        cut.Find("[data-testid=new-conversation]").Click();

        Assert.Equal(1, created);
    }

    [Fact]
    public void PickingAConversationOrNewChatTellsThePageSoThePhoneDrawerCloses()
    {
        var selected = 0;
        var created = 0;
        var cut = Render<ConversationList>(p => p
            .Add(c => c.Conversations, Conversations)
            .Add(c => c.OnNew, () => created++)
            .Add(c => c.OnSelect, () => selected++));

        cut.FindAll("[data-testid=conversation-item]")[1].Click();
        Assert.Equal(1, selected);

        cut.Find("[data-testid=new-conversation]").Click();
        Assert.Equal(2, selected);
        Assert.Equal(1, created);
    }

    [Fact]
    public void TheListIsANamedNavigationLandmarkTheToggleCanPointAt()
    {
        var cut = RenderList("aaaaaaaaaaaaaaaaaaaaaaaa");

        var nav = cut.Find("nav");
        Assert.Equal("cp-sidebar", nav.Id);
        Assert.Equal("Conversations", nav.GetAttribute("aria-label"));
    }

    private IRenderedComponent<ConversationList> RenderList(string? activeId) =>
        Render<ConversationList>(p => p
            .Add(c => c.Conversations, Conversations)
            .Add(c => c.ActiveId, activeId)
            .Add(c => c.OnNew, () => { }));
}
