using System.Text.RegularExpressions;

namespace ChatPortal.E2E;

/// <summary>The conversation list in Chromium: rename, delete and undo, search, a long list, and its screenshots.</summary>
[Collection(SingleNodeCollection.Name)]
public sealed class ConversationListTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task RenamingInlineSavesOnEnterAndEscCancelsWithoutStoppingTheAnswer()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        var id = chat.ConversationId;
        await chat.SendAsync("Plan a trip to Lisbon");
        await chat.WaitForWordsAsync(3);

        await chat.PickFromConversationMenuAsync(id, "Rename");
        await Expect(chat.RenameInput).ToBeFocusedAsync();
        await Expect(chat.RenameInput).ToHaveValueAsync("Plan a trip to Lisbon");
        await chat.RenameInput.FillAsync("  Lisbon in May ");
        await chat.RenameInput.PressAsync("Enter");

        await Expect(chat.RenameInput).ToHaveCountAsync(0);
        await Expect(chat.ConversationItem(id)).ToHaveTextAsync("Lisbon in May");
        await Expect(Page.GetByTestId("conversation-title")).ToHaveTextAsync("Lisbon in May");

        // Esc cancels a rename, and only that: the answer being written goes on.
        await chat.ConversationItem(id).DblClickAsync();
        await Expect(chat.RenameInput).ToBeFocusedAsync();
        await chat.RenameInput.FillAsync("Never saved");
        await chat.RenameInput.PressAsync("Escape");
        await Expect(chat.RenameInput).ToHaveCountAsync(0);
        await Expect(chat.ConversationItem(id)).ToHaveTextAsync("Lisbon in May");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Expect(chat.StopButton).ToBeVisibleAsync();

        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.ConversationItem(id)).ToHaveTextAsync("Lisbon in May");
        Assert.Equal("Lisbon in May", (await chat.GetConversationAsync()).GetProperty("title").GetString());
    }

    [Fact]
    public async Task DeletingOffersUndoAndAReloadDuringTheWindowKeepsItDeletedButRestorable()
    {
        var chat = ChatOn(Fixture.FastNode);
        var node = Fixture.FastNode;
        var older = await NodeDatabase.CreateConversationAsync(Page, node, "Recipes for the weekend");
        var open = await NodeDatabase.CreateConversationAsync(Page, node, "Quarterly report draft");
        await chat.OpenAsync(open);

        await chat.PickFromConversationMenuAsync(older, "Delete");

        await Expect(chat.ConversationItem(older)).ToHaveCountAsync(0);
        await Expect(Page.GetByTestId("deleted-notice")).ToContainTextAsync("Deleted “Recipes for the weekend”");
        Assert.Equal(404, (await NodeDatabase.GetAsync(Page, node, $"api/conversations/{older}")).Status);
        await chat.UndoDeleteButton.ClickAsync();
        await Expect(chat.ConversationItem(older)).ToHaveTextAsync("Recipes for the weekend");
        await Expect(Page.GetByTestId("deleted-notice")).ToHaveCountAsync(0);
        Assert.Equal(200, (await NodeDatabase.GetAsync(Page, node, $"api/conversations/{older}")).Status);
        await Expect(Page).ToHaveURLAsync(new Regex($"/c/{open}$"));

        // Deleted again, then the page reloads within the window: it stays deleted (the Undo was the page's), and the
        // API can still restore it.
        await chat.PickFromConversationMenuAsync(older, "Delete");
        await Expect(chat.ConversationItem(older)).ToHaveCountAsync(0);
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.ConversationItem(open)).ToBeVisibleAsync();
        await Expect(chat.ConversationItem(older)).ToHaveCountAsync(0);
        await Expect(chat.UndoDeleteButton).ToHaveCountAsync(0);
        var restored = await Page.APIRequest.PostAsync($"{node.Url}/api/conversations/{older}/restore");
        Assert.Equal(200, restored.Status);
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.ConversationItem(older)).ToBeVisibleAsync();

        // Deleting the open conversation moves to the newest one left; Undo comes back to it.
        await chat.PickFromConversationMenuAsync(open, "Delete");
        await Expect(Page).ToHaveURLAsync(new Regex($"/c/{older}$"));
        await chat.UndoDeleteButton.ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex($"/c/{open}$"));
        await Expect(chat.ConversationItem(open)).ToHaveAttributeAsync("aria-current", "page");
    }

    [Fact]
    public async Task SearchFindsTitlesAndMessageTextAndCtrlKFocusesIt()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        var boats = chat.ConversationId;
        await chat.SendAsync("Which sailboat suits a beginner?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        var bread = chat.ConversationId;
        await chat.SendAsync("A sourdough starter schedule");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await chat.ComposerInput.FocusAsync();

        await Page.Keyboard.PressAsync("Control+K");
        await Expect(chat.ConversationSearch).ToBeFocusedAsync();
        await Page.Keyboard.TypeAsync("sailb");

        await Expect(chat.ConversationItems).ToHaveCountAsync(1);
        await Expect(chat.ConversationItem(boats)).ToBeVisibleAsync();
        await Expect(chat.SearchResultsHeading).ToHaveTextAsync("1 result");
        await Expect(Page.Locator($".cp-conversation-row[data-conversation-id='{boats}'] mark").First).ToHaveTextAsync(new Regex("^sailboat", RegexOptions.IgnoreCase));

        await Page.Keyboard.PressAsync("Enter");
        await Expect(Page).ToHaveURLAsync(new Regex($"/c/{boats}$"));
        await Expect(chat.UserMessages.First).ToHaveTextAsync("Which sailboat suits a beginner?");

        await chat.ConversationSearch.FillAsync("nothing like this");
        await Expect(chat.SearchResultsHeading).ToHaveTextAsync("No conversations match “nothing like this”");
        await Expect(chat.ConversationItems).ToHaveCountAsync(0);
        await chat.ConversationSearch.PressAsync("Escape");
        await Expect(chat.ConversationSearch).ToHaveValueAsync("");
        await Expect(chat.ConversationItems).ToHaveCountAsync(2);
        await Expect(chat.ConversationItem(bread)).ToBeVisibleAsync();
    }

    [Fact]
    public async Task OnAPhoneCtrlKOpensTheDrawerAtTheSearch()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var chat = ChatOn(Fixture.FastNode);
        var id = await NodeDatabase.CreateConversationAsync(Page, Fixture.FastNode, "Hiking the Alps");
        await chat.OpenAsync(id);
        await Expect(chat.ConversationSearch).Not.ToBeVisibleAsync();

        await Page.Keyboard.PressAsync("Control+K");

        await Expect(chat.SidebarToggle).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(chat.ConversationSearch).ToBeFocusedAsync();
        await Page.Keyboard.TypeAsync("alps");
        await Expect(chat.ConversationItem(id)).ToBeVisibleAsync();
    }

    [Fact]
    public async Task ALongListLoadsMoreAsItScrolls()
    {
        var chat = ChatOn(Fixture.FastNode);
        var total = 42;
        for (var i = 0; i < total; i++)
        {
            await NodeDatabase.CreateConversationAsync(Page, Fixture.FastNode, $"Conversation number {i}");
        }

        await chat.OpenAsync();
        await Expect(chat.ConversationItems).ToHaveCountAsync(30);
        await Expect(chat.LoadMoreButton).ToBeAttachedAsync();

        await Page.GetByTestId("conversation-list").EvaluateAsync("list => list.scrollTop = list.scrollHeight");

        await Expect(chat.ConversationItems).ToHaveCountAsync(total);
        await Expect(chat.LoadMoreButton).ToHaveCountAsync(0);
        await Expect(chat.ConversationItems.Last).ToHaveTextAsync("Conversation number 0");
    }

    [Fact]
    public async Task ScreenshotsOfTheListOnADesktopAndAPhone()
    {
        var node = Fixture.FastNode;
        var chat = ChatOn(node);
        (string Title, double DaysAgo)[] history =
        [
            ("Migrating the billing service to PostgreSQL 17", 400),
            ("Team offsite agenda", 90),
            ("Explain Raft leader election", 45),
            ("Stop words in PostgreSQL full-text search", 30),
            ("Regex for ISO 8601 dates", 21),
            ("Onboarding checklist for new engineers", 12),
            ("Rust vs Go for a CLI tool", 6.2),
            ("Review my cover letter", 5.1),
            ("Flaky Playwright test on CI", 3.4),
            ("Weekend hiking plan near Zermatt", 2.3),
            ("Grafana alert for p99 latency", 1.2),
            ("SQL window functions cheat sheet", 1.1),
            ("Rename the orders table safely", 0.02),
        ];
        foreach (var (title, daysAgo) in history)
        {
            var id = await NodeDatabase.CreateConversationAsync(Page, node, title);
            await NodeDatabase.SetUpdatedAgoAsync(node, id, TimeSpan.FromDays(daysAgo));
        }

        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.ConversationGroupHeadings).ToHaveTextAsync(["Today", "Yesterday", "Previous 7 days", "Older"]);

        Screenshots.Publish(await Screenshots.SaveAsync(Page, "conversation-list.png"), "conversation-list.png");

        // Searching, with the matched words marked.
        await chat.ConversationSearch.FillAsync("stop");
        await Expect(chat.SearchResultsHeading).ToHaveTextAsync(new Regex("results?$"));
        await Expect(Page.GetByTestId("conversation-snippet").First).ToBeVisibleAsync();
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "conversation-search.png"), "conversation-search.png");
        await chat.ConversationSearch.PressAsync("Escape");

        // The phone drawer.
        await Page.SetViewportSizeAsync(390, 844);
        await chat.SidebarToggle.ClickAsync();
        await Expect(chat.ConversationGroupHeadings.First).ToBeVisibleAsync();
        await Page.WaitForTimeoutAsync(300); // the drawer's slide
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "conversation-list-phone.png"), "conversation-list-phone.png");
    }
}
