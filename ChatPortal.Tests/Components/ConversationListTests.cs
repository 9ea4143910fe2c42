using Bunit;
using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Storage;
using ChatPortal.Tests.Storage;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace ChatPortal.Tests.Components;

/// <summary>
/// The conversation list against a real store (SQLite in a temp directory): what it shows is what the database holds,
/// and what it does (rename, delete, undo, load more) lands there.
/// </summary>
public sealed class ConversationListTests(SqliteStoreDatabase database) : ComponentTest, IClassFixture<SqliteStoreDatabase>, IAsyncLifetime
{
    private StoreNode? _node;
    private readonly string _user = $"user-{ChatPortal.Core.Ids.NewUserId()}";

    private StoreNode Node => _node ?? throw new InvalidOperationException("Not initialised.");

    private IConversationStore Store => Node.Store;

    async Task IAsyncLifetime.InitializeAsync()
    {
        _node = await StoreNode.StartAsync(database.Settings);
        Services.AddSingleton(Node.Store);
        Services.AddSingleton(Node.Services.GetRequiredService<GenerationEngine>());
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }

    [Fact]
    public async Task EachConversationIsALinkUnderItsDateHeadingNewestFirst()
    {
        var older = await CreateAsync("Planning the migration", updatedDaysAgo: 30);
        var lastWeek = await CreateAsync("Redis questions", updatedDaysAgo: 3);
        var today = await CreateAsync("Latest chat");

        var cut = RenderList();

        var groups = cut.FindAll("section.cp-group");
        Assert.Equal(["Today", "Previous 7 days", "Older"], cut.FindAll("[data-testid=conversation-group]").Select(h => h.TextContent));
        Assert.Equal([[today], [lastWeek], [older]], groups.Select(g => g.QuerySelectorAll("[data-testid=conversation-item]").Select(i => i.GetAttribute("data-conversation-id")).ToArray()));
        var items = cut.FindAll("[data-testid=conversation-item]");
        Assert.Equal(["Latest chat", "Redis questions", "Planning the migration"], items.Select(i => i.QuerySelector(".cp-conversation-title")!.TextContent));
        Assert.Equal(new[] { today, lastWeek, older }.Select(id => $"/c/{id}"), items.Select(i => i.GetAttribute("href")));
    }

    [Fact]
    public async Task OnlyTheActiveConversationIsMarkedAndOnlyTheGeneratingOneHasTheLiveDot()
    {
        var first = await CreateAsync("First");
        var second = await CreateAsync("Second");

        var cut = RenderList(activeId: first, generatingId: second);

        var items = cut.FindAll("[data-testid=conversation-item]");
        Assert.Equal([second, first], items.Select(i => i.GetAttribute("data-conversation-id")));
        Assert.Equal([null, "page"], items.Select(i => i.GetAttribute("aria-current")));
        Assert.Equal([false, true], cut.FindAll(".cp-conversation-row").Select(r => r.ClassList.Contains("cp-active")));
        var dot = cut.Find("[data-testid=conversation-generating]");
        Assert.Equal(second, dot.Closest("[data-testid=conversation-item]")?.GetAttribute("data-conversation-id"));
    }

    [Fact]
    public void NoConversationsSaysSoAndNewChatStillWorks()
    {
        var (created, selected) = (0, 0);
        var cut = Render<ConversationList>(p => p
            .Add(c => c.UserId, _user)
            .Add(c => c.OnNew, () => created++)
            .Add(c => c.OnSelect, () => selected++));

        Assert.Empty(cut.FindAll("[data-testid=conversation-item]"));
        Assert.Contains("No conversations yet", cut.Markup);
        cut.Find("[data-testid=new-conversation]").Click();
        Assert.Equal((1, 1), (created, selected));
    }

    [Fact]
    public async Task PickingAConversationTellsThePageSoThePhoneDrawerCloses()
    {
        await CreateAsync("One");
        await CreateAsync("Two");
        var selected = 0;
        var cut = Render<ConversationList>(p => p
            .Add(c => c.UserId, _user)
            .Add(c => c.OnNew, () => { })
            .Add(c => c.OnSelect, () => selected++));

        cut.FindAll("[data-testid=conversation-item]")[1].Click();

        Assert.Equal(1, selected);
    }

    [Fact]
    public async Task RenamingInlineSavesOnEnterTrimmedAndCancelsOnEscape()
    {
        var id = await CreateAsync("Old name");
        var cut = RenderList();

        cut.Find("[data-testid=conversation-item]").DoubleClick();
        var input = cut.Find("[data-testid=conversation-rename-input]");
        Assert.Equal("Old name", input.GetAttribute("value"));
        Assert.NotNull(input.GetAttribute("data-own-escape"));
        input.Input("  A better name  ");
        input.KeyDown("Enter");

        cut.WaitForAssertion(() => Assert.Equal("A better name", cut.Find(".cp-conversation-title").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=conversation-rename-input]"));
        Assert.Equal("A better name", (await Store.GetAsync(_user, id))!.Title);

        cut.Find("[data-testid=conversation-item]").DoubleClick();
        cut.Find("[data-testid=conversation-rename-input]").Input("Never saved");
        cut.Find("[data-testid=conversation-rename-input]").KeyDown("Escape");

        Assert.Empty(cut.FindAll("[data-testid=conversation-rename-input]"));
        Assert.Equal("A better name", cut.Find(".cp-conversation-title").TextContent);
        Assert.Equal("A better name", (await Store.GetAsync(_user, id))!.Title);
    }

    [Fact]
    public async Task ABlankNameChangesNothingAndLeavingTheFieldSaves()
    {
        var id = await CreateAsync("Keep me");
        var cut = RenderList();

        cut.Find("[data-testid=conversation-item]").DoubleClick();
        cut.Find("[data-testid=conversation-rename-input]").Input("   ");
        cut.Find("[data-testid=conversation-rename-input]").KeyDown("Enter");
        Assert.Equal("Keep me", (await Store.GetAsync(_user, id))!.Title);

        cut.Find("[data-testid=conversation-item]").DoubleClick();
        cut.Find("[data-testid=conversation-rename-input]").Input("Saved on blur");
        cut.Find("[data-testid=conversation-rename-input]").Blur();

        cut.WaitForAssertion(() => Assert.Equal("Saved on blur", cut.Find(".cp-conversation-title").TextContent));
        Assert.Equal("Saved on blur", (await Store.GetAsync(_user, id))!.Title);
    }

    [Fact]
    public async Task TheMenuRenamesToo()
    {
        var id = await CreateAsync("From the menu");
        var popovers = Render<MudPopoverProvider>();
        var cut = RenderList();

        cut.Find("[data-testid=conversation-menu] button").Click();
        popovers.WaitForElement("[data-testid=conversation-rename]").Click();
        cut.WaitForElement("[data-testid=conversation-rename-input]").Input("Renamed by menu");
        cut.Find("[data-testid=conversation-rename-input]").KeyDown("Enter");

        cut.WaitForAssertion(() => Assert.Equal("Renamed by menu", cut.Find(".cp-conversation-title").TextContent));
        Assert.Equal("Renamed by menu", (await Store.GetAsync(_user, id))!.Title);
    }

    [Fact]
    public async Task DeletingRemovesItAtOnceAndUndoBringsItBack()
    {
        var keep = await CreateAsync("Keep");
        var doomed = await CreateAsync("Doomed");
        var popovers = Render<MudPopoverProvider>();
        var snackbars = Render<MudSnackbarProvider>();
        var cut = RenderList(activeId: keep);

        await DeleteFromMenuAsync(cut, popovers, doomed);

        cut.WaitForAssertion(() => Assert.Equal(new[] { keep }, ItemIds(cut)));
        Assert.Null(await Store.GetAsync(_user, doomed));
        var notice = snackbars.WaitForElement("[data-testid=deleted-notice]");
        Assert.Contains("Deleted “Doomed”", notice.TextContent);
        Assert.EndsWith("/", Services.GetRequiredService<NavigationManager>().Uri); // the open conversation stays open

        snackbars.Find("[data-testid=undo-delete]").Click();

        cut.WaitForAssertion(() => Assert.Equal(new[] { doomed, keep }, ItemIds(cut)));
        Assert.Equal("Doomed", (await Store.GetAsync(_user, doomed))!.Title);
        snackbars.WaitForAssertion(() => Assert.Empty(snackbars.FindAll("[data-testid=deleted-notice]")));
    }

    [Fact]
    public async Task DeletingTheOpenConversationLeavesItAndUndoReturnsToIt()
    {
        var open = await CreateAsync("Open one");
        await CreateAsync("Another");
        var popovers = Render<MudPopoverProvider>();
        var snackbars = Render<MudSnackbarProvider>();
        var navigation = Services.GetRequiredService<NavigationManager>();
        navigation.NavigateTo($"/c/{open}");
        var cut = RenderList(activeId: open);

        await DeleteFromMenuAsync(cut, popovers, open);

        cut.WaitForAssertion(() => Assert.Equal(navigation.BaseUri, navigation.Uri));
        snackbars.WaitForElement("[data-testid=undo-delete]").Click();
        cut.WaitForAssertion(() => Assert.Equal($"{navigation.BaseUri}c/{open}", navigation.Uri));
        Assert.NotNull(await Store.GetAsync(_user, open));
    }

    [Fact]
    public async Task ALongListLoadsAPageAtATime()
    {
        var ids = new List<string>();
        for (var i = 0; i < ConversationList.PageSize + 5; i++)
        {
            ids.Add(await CreateAsync($"Conversation {i}"));
        }

        var cut = RenderList();

        Assert.Equal(ConversationList.PageSize, cut.FindAll("[data-testid=conversation-item]").Count);
        cut.Find("[data-testid=conversation-load-more]").Click();

        cut.WaitForAssertion(() => Assert.Equal(ConversationList.PageSize + 5, cut.FindAll("[data-testid=conversation-item]").Count));
        Assert.Equal(Enumerable.Reverse(ids), ItemIds(cut));
        Assert.Empty(cut.FindAll("[data-testid=conversation-load-more]"));

        // A refresh (after an answer, a rename elsewhere) keeps everything that was shown.
        await cut.InvokeAsync(() => cut.Instance.RefreshAsync());
        Assert.Equal(ConversationList.PageSize + 5, cut.FindAll("[data-testid=conversation-item]").Count);
    }

    [Fact]
    public async Task TypingSearchesTitlesAndMessagesAndMarksTheMatchedWords()
    {
        var byText = await CreateAsync("Deployment notes");
        await AnswerAsync(byText, "How many replicas?", "Run three replicas behind the balancer.");
        var byTitle = await CreateAsync("Replica lag");
        await CreateAsync("Unrelated");
        var cut = RenderList();

        cut.Find("[data-testid=conversation-search]").Input("replica");

        cut.WaitForAssertion(() => Assert.Equal(new[] { byTitle, byText }, ItemIds(cut)), TimeSpan.FromSeconds(5));
        Assert.Equal("2 results", cut.Find("[data-testid=search-results-heading]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=conversation-group]"));
        var snippet = cut.Find($".cp-conversation-row[data-conversation-id='{byText}'] [data-testid=conversation-snippet]");
        Assert.Equal(["replicas"], snippet.QuerySelectorAll("mark").Select(m => m.TextContent));
        Assert.Contains("Run three replicas behind the balancer.", snippet.TextContent);
        Assert.DoesNotContain(SearchSnippet.Start, cut.Markup);

        cut.Find("[data-testid=conversation-search]").Input("replica nothing");
        cut.WaitForAssertion(() => Assert.Equal("No conversations match “replica nothing”", cut.Find("[data-testid=search-results-heading]").TextContent), TimeSpan.FromSeconds(5));
        Assert.Empty(cut.FindAll("[data-testid=conversation-item]"));

        // Esc clears the search and the grouped list comes back.
        cut.Find("[data-testid=conversation-search]").KeyDown("Escape");
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=conversation-item]").Count));
        Assert.Single(JSInterop.Invocations, i => i.Identifier == "chatPortal.clearInput");
        Assert.NotEmpty(cut.FindAll("[data-testid=conversation-group]"));
    }

    [Fact]
    public async Task EnterOpensTheFirstHitAndASearchWithoutWordsSaysWhy()
    {
        var id = await CreateAsync("Kubernetes probes");
        var cut = RenderList();
        var search = cut.Find("[data-testid=conversation-search]");
        Assert.Equal("Search conversations", search.GetAttribute("aria-label"));
        Assert.NotNull(search.GetAttribute("data-own-escape"));

        search.Input("?!*");
        cut.WaitForAssertion(() => Assert.Contains("letters or digits", cut.Find("[data-testid=search-problem]").TextContent), TimeSpan.FromSeconds(5));

        cut.Find("[data-testid=conversation-search]").Input("kube");
        cut.WaitForAssertion(() => Assert.Equal("1 result", cut.Find("[data-testid=search-results-heading]").TextContent), TimeSpan.FromSeconds(5));
        Assert.Equal(new[] { id }, ItemIds(cut));
        await cut.Find("[data-testid=conversation-search]").KeyDownAsync(new KeyboardEventArgs { Key = "Enter" });

        // The handler awaits the list's OnSelect before it navigates: wait for it rather than read the address at once.
        cut.WaitForAssertion(() => Assert.EndsWith($"/c/{id}", Services.GetRequiredService<NavigationManager>().Uri), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void TheListIsANamedNavigationLandmarkTheToggleCanPointAt()
    {
        var cut = RenderList();

        var nav = cut.Find("nav");
        Assert.Equal("cp-sidebar", nav.Id);
        Assert.Equal("Conversations", nav.GetAttribute("aria-label"));
    }

    private static async Task DeleteFromMenuAsync(IRenderedComponent<ConversationList> cut, IRenderedComponent<MudPopoverProvider> popovers, string id)
    {
        cut.Find($".cp-conversation-row[data-conversation-id='{id}'] [data-testid=conversation-menu] button").Click();
        await popovers.InvokeAsync(() => { });
        popovers.WaitForElement("[data-testid=conversation-delete]").Click();
    }

    private static List<string> ItemIds(IRenderedComponent<ConversationList> cut) =>
        [.. cut.FindAll("[data-testid=conversation-item]").Select(i => i.GetAttribute("data-conversation-id") ?? "")];

    private IRenderedComponent<ConversationList> RenderList(string? activeId = null, string? generatingId = null) =>
        Render<ConversationList>(p => p
            .Add(c => c.UserId, _user)
            .Add(c => c.ActiveId, activeId)
            .Add(c => c.GeneratingId, generatingId)
            .Add(c => c.OnNew, () => { }));

    /// <summary>A question and its answer, through the store's start and commit as the engine does it.</summary>
    private async Task AnswerAsync(string conversationId, string question, string answer)
    {
        var start = new AnswerStart(ChatPortal.Core.Ids.NewTaskId(conversationId), conversationId, _user, Node.NodeId, Node.InstanceId, DateTimeOffset.UtcNow, question, 10);
        var claimed = await Store.StartAnswerAsync(start);
        Assert.Equal(AnswerStartOutcome.Claimed, claimed.Outcome);
        var message = new ChatMessage(start.TaskId, ChatRole.Assistant, answer, MessageStatus.Completed, DateTimeOffset.UtcNow, ParentId: claimed.ParentId);
        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(new AnswerCommit(conversationId, start.TaskId, claimed.Fence, message)));
    }

    /// <summary>A conversation of this test's user with a title, last updated <paramref name="updatedDaysAgo"/> days ago.</summary>
    private async Task<string> CreateAsync(string title, int updatedDaysAgo = 0)
    {
        var id = (await Store.CreateAsync(_user)).Id;
        await Store.RenameAsync(_user, id, title);
        await using var db = await Node.Contexts.CreateDbContextAsync();
        var at = DateTime.UtcNow.AddDays(-updatedDaysAgo).AddMilliseconds(await db.Conversations.CountAsync(c => c.UserId == _user));
        await db.Conversations.Where(c => c.Id == id).ExecuteUpdateAsync(s => s.SetProperty(c => c.UpdatedAt, at));
        return id;
    }
}
