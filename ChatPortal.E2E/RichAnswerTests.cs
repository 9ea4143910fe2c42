namespace ChatPortal.E2E;

/// <summary>Answers with tables and code, on a desktop and on a phone: copy, the drawer, no sideways scrolling, screenshots.</summary>
[Collection(ShowcaseCollection.Name)]
public sealed class RichAnswerTests(ShowcaseFixture fixture) : BrowserTest<ShowcaseFixture>(fixture)
{
    private const string PageWiderThanTheWindow = "() => document.documentElement.scrollWidth - window.innerWidth";

    [Fact]
    public async Task ACodeBlocksCopyButtonPutsItsCodeOnTheClipboard()
    {
        await Page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Fixture.Node.Url });
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("Show me how to stop an answer");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        var block = chat.LastAnswerCodeBlocks.First;
        await Expect(block.Locator(".cp-code-lang")).ToHaveTextAsync("C#");
        await Expect(block.Locator("pre code .keyword").First).ToBeVisibleAsync(); // highlighted on the server
        var copy = block.GetByRole(AriaRole.Button, new() { Name = "Copy code" });
        await copy.ClickAsync();

        await Expect(block.Locator(".cp-code-copy")).ToHaveTextAsync("Copied");
        Assert.Equal(ShowcaseModel.CSharpCode, await Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await Expect(block.Locator(".cp-code-copy")).ToHaveTextAsync("Copy", new() { Timeout = 5_000 });
    }

    [Fact]
    public async Task AWideTableOrCodeBlockFadesAtTheEdgeItScrollsTowardsUntilItsEnd()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("A table, please");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var table = chat.LastAnswer.Locator(".cp-table");
        Assert.True(await table.EvaluateAsync<bool>("t => t.scrollWidth > t.clientWidth"), "The table fits: nothing to hint at.");

        await table.ScrollIntoViewIfNeededAsync();

        // At the start: a fade at the right edge, none at the left.
        Assert.Equal(("0px", "48px"), await FadesAsync(table));
        await Screenshots.SaveAsync(Page, "table-fade-start-phone.png");

        // Part-way: both edges; at the end: only the left one, the last column is whole.
        await table.EvaluateAsync("t => t.scrollLeft = (t.scrollWidth - t.clientWidth) / 2");
        await UntilAsync(table, ("24px", "48px"));
        await table.EvaluateAsync("t => t.scrollLeft = t.scrollWidth");
        await UntilAsync(table, ("24px", "0px"));
        await Screenshots.SaveAsync(Page, "table-fade-end-phone.png");

        // A code block with long lines says the same.
        var code = chat.LastAnswerCodeBlocks.First.Locator("pre");
        Assert.True(await code.EvaluateAsync<bool>("p => p.scrollWidth > p.clientWidth"), "The code fits: nothing to hint at.");
        await UntilAsync(code, ("0px", "48px"));

        // A table that fits its box has no fade at all (a small one, as the renderer writes it, beside the wide one).
        await chat.LastAnswer.Locator(".cp-markdown").EvaluateAsync(
            "m => m.insertAdjacentHTML('beforeend', '<div class=\"cp-table\" data-testid=\"small-table\"><table><tbody><tr><td>a</td><td>b</td></tr></tbody></table></div>')");
        var small = chat.LastAnswer.GetByTestId("small-table");
        Assert.False(await small.EvaluateAsync<bool>("t => t.scrollWidth > t.clientWidth"), "The small table scrolls.");
        await UntilAsync(small, ("0px", "0px"));
    }

    /// <summary>Waits (up to 5 s) for the fades a scroll leads to: the scroll timeline updates on the next frame.</summary>
    private static async Task UntilAsync(ILocator table, (string Start, string End) expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        var fades = await FadesAsync(table);
        while (fades != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            fades = await FadesAsync(table);
        }

        Assert.Equal(expected, fades);
    }

    private static async Task<(string Start, string End)> FadesAsync(ILocator table)
    {
        var fades = await table.EvaluateAsync<string[]>("t => { const s = getComputedStyle(t); return [s.getPropertyValue('--cp-fade-start').trim(), s.getPropertyValue('--cp-fade-end').trim()]; }");
        return (fades[0], fades[1]);
    }

    [Fact]
    public async Task OnAPhoneTheConversationListIsADrawerAndNothingScrollsSideways()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        var first = chat.ConversationId;
        await chat.SendAsync("A table and some code, please");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        Assert.True(await Page.EvaluateAsync<int>(PageWiderThanTheWindow) <= 0, "The page scrolls sideways at 390 px.");
        var wideTable = await Page.EvaluateAsync<bool>("() => { const t = document.querySelector('.cp-table'); return t.scrollWidth > t.clientWidth; }");
        Assert.True(wideTable, "The table fits at 390 px: this test would not show that it scrolls inside its wrapper.");

        // Closed: the list is off screen and the toggle says so.
        await Expect(chat.SidebarToggle).ToBeVisibleAsync();
        await Expect(chat.SidebarToggle).ToHaveAttributeAsync("aria-expanded", "false");
        await Expect(chat.ConversationItems.First).Not.ToBeVisibleAsync();
        await Expect(chat.NewConversationButton).Not.ToBeVisibleAsync();

        // New chat from the drawer: it closes, a new conversation opens.
        await chat.SidebarToggle.ClickAsync();
        await Expect(chat.SidebarToggle).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(chat.NewConversationButton).ToBeVisibleAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/c/(?!" + first + ")[^/]+$"));
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(chat.NewConversationButton).Not.ToBeVisibleAsync();

        // Picking a conversation closes it too.
        await chat.SidebarToggle.ClickAsync();
        var item = chat.ConversationItems.And(Page.Locator($"[data-conversation-id='{first}']"));
        await Expect(item).ToBeVisibleAsync();
        Assert.True(await Page.EvaluateAsync<int>(PageWiderThanTheWindow) <= 0, "The open drawer makes the page scroll sideways.");
        await item.ClickAsync();
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/c/" + first + "$"));
        await Expect(item).Not.ToBeVisibleAsync();
        await Expect(chat.SidebarToggle).ToHaveAttributeAsync("aria-expanded", "false");
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);
        await Expect(chat.ComposerInput).ToBeInViewportAsync();

        // Esc closes it, and the focus goes from the drawer (where opening put it) back to the toggle.
        await chat.SidebarToggle.ClickAsync();
        await Expect(item).ToBeVisibleAsync();
        await Expect(item).ToBeFocusedAsync();
        await Page.Keyboard.PressAsync("Escape");
        await Expect(item).Not.ToBeVisibleAsync();
        await Expect(chat.SidebarToggle).ToBeFocusedAsync();
        Assert.True(await Page.EvaluateAsync<int>(PageWiderThanTheWindow) <= 0, "The page scrolls sideways at 390 px.");
    }

    [Fact]
    public async Task OnAPhoneTheComposerStaysUsableAroundTheDrawerAndTheOnScreenKeyboard()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();

        // The drawer opened and closed with a tap beside it: the composer is back in reach and keeps what was typed.
        await chat.ComposerInput.FillAsync("Draft kept while the list is open");
        await chat.SidebarToggle.ClickAsync();
        await Expect(chat.NewConversationButton).ToBeVisibleAsync();
        await Page.Mouse.ClickAsync(370, 400); // the scrim beside the drawer
        await Expect(chat.SidebarToggle).ToHaveAttributeAsync("aria-expanded", "false");
        await Expect(chat.NewConversationButton).Not.ToBeVisibleAsync();
        await Expect(chat.ComposerInput).ToHaveValueAsync("Draft kept while the list is open");

        // The on-screen keyboard takes the lower half of the screen: the composer and Send stay above it, whole.
        await Page.SetViewportSizeAsync(390, 420);
        await chat.ComposerInput.ClickAsync();
        await Expect(chat.ComposerInput).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(chat.SendButton).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(chat.SidebarToggle).ToBeInViewportAsync(new() { Ratio = 1 });
        Assert.True(await Page.EvaluateAsync<int>(PageWiderThanTheWindow) <= 0, "The page scrolls sideways with the keyboard open.");

        await chat.ComposerInput.FillAsync("A table and some code, please");
        await chat.SendButton.ClickAsync();
        await Expect(chat.UserMessages.Last).ToContainTextAsync("A table and some code, please");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 30_000 });
        await Expect(chat.ComposerInput).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(chat.ComposerInput).ToBeEnabledAsync();
    }

    [Fact]
    public async Task ScreenshotsOfARichAnswerOnADesktopAndAPhoneInLightAndDark()
    {
        var chat = ChatOn(Fixture.Node);

        // A history like a user's (a list of one looks like a demo): older conversations under their date headings.
        await NodeDatabase.SeedHistoryAsync(Page, Fixture.Node);

        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(Page.GetByTestId("suggestion")).ToHaveCountAsync(4);
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-empty-light.png"), "chat-empty.png");
        await chat.SendAsync("How do I stop an answer from another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.LastAnswerCodeBlocks).ToHaveCountAsync(3);
        await Expect(chat.LastAnswer.Locator(".cp-table table")).ToBeVisibleAsync();
        await Expect(chat.AnswerAnnouncer).ToHaveTextAsync("Answer complete");

        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-code-light.png", growToContent: true), "chat-code-light.png");
        await Page.SetViewportSizeAsync(390, 844);
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-phone-light.png"), "chat-phone-light.png");

        await Page.SetViewportSizeAsync(1280, 800);
        await chat.ThemeToggle.ClickAsync();
        await Expect(Page.Locator("body")).ToHaveCSSAsync("background-color", "rgb(11, 17, 32)");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-code-dark.png", growToContent: true), "chat-code-dark.png");
        await Page.SetViewportSizeAsync(390, 844);
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-phone-dark.png"), "chat-phone-dark.png");
        await chat.SidebarToggle.ClickAsync();
        await Expect(chat.ConversationItems.First).ToBeVisibleAsync();
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-phone-drawer-dark.png"), "chat-phone-drawer-dark.png");
    }
}
