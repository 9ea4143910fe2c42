namespace ChatPortal.E2E;

/// <summary>Key screens as images: artifacts/screenshots, and the light chat as docs/images/chat.png for the README.</summary>
[Collection(SingleNodeCollection.Name)]
public sealed class ScreenshotTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    // The themes' page backgrounds (ChatPortalTheme: #f8fafc, #0b1120).
    private const string LightBackground = "rgb(248, 250, 252)";
    private const string DarkBackground = "rgb(11, 17, 32)";

    [Fact]
    public async Task ScreenshotsOfTheChatInLightAndDark()
    {
        var chat = ChatOn(Fixture.FastNode);
        var body = Page.Locator("body");

        // A user's history beside the chat, not a list of one.
        (string Title, double DaysAgo)[] history =
        [
            ("Explain Raft leader election", 20),
            ("Rust vs Go for a CLI tool", 5),
            ("Grafana alert for p99 latency", 1.1),
            ("Rename the orders table safely", 0.05),
        ];
        foreach (var (title, daysAgo) in history)
        {
            var id = await NodeDatabase.CreateConversationAsync(Page, Fixture.FastNode, title);
            await NodeDatabase.SetUpdatedAgoAsync(Fixture.FastNode, id, TimeSpan.FromDays(daysAgo));
        }

        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(body).ToHaveCSSAsync("background-color", LightBackground);

        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        // Stopped as soon as a few words are there: on a loaded machine a full-page picture taken first could outlast the
        // fast node's whole answer (about 2.5 s). The streaming screen is pictured on the slow node below.
        await chat.SendAsync("What should the dashboard show?");
        await chat.WaitForWordsAsync(8);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(chat.StoppedMark).ToBeVisibleAsync();

        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-light.png"), "chat.png");

        await chat.ThemeToggle.ClickAsync();
        await Expect(body).ToHaveCSSAsync("background-color", DarkBackground);
        Assert.Equal("dark", await Page.EvaluateAsync<string>("localStorage.getItem('chatportal-theme')"));

        // The choice is remembered: a reload comes back dark, with the same conversation.
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(body).ToHaveCSSAsync("background-color", DarkBackground);
        await Expect(chat.AssistantMessages).ToHaveCountAsync(2);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Screenshots.SaveAsync(Page, "chat-dark.png");
    }

    [Fact]
    public async Task ScreenshotOfAnAnswerStreaming()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("What should the dashboard show?");
        await chat.WaitForWordsAsync(8);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Screenshots.SaveAsync(Page, "chat-streaming.png");
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
    }

    /// <summary>
    /// The reconnect dialog in its states, at desktop and phone sizes, reached the real way: the node asks the page
    /// to move (what a graceful stop does), and the connection drops. Every new connection attempt is held back by
    /// the test while the pictures are taken, then let through: the page comes back each time, draft and all.
    /// </summary>
    [Fact]
    public async Task ScreenshotsOfTheReconnectDialogMovingAndReconnecting()
    {
        const string draft = "A draft that comes along";
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await chat.ComposerInput.FillAsync(draft);
        await Expect(chat.SendButton).ToBeEnabledAsync();

        // The phone-size screenshots resize the window while the circuit is paused or down: the resize listener calls
        // the server, and SignalR refuses to send while disconnected (the page reconnects and goes on; asserted below).
        ExpectConsoleErrors(new System.Text.RegularExpressions.Regex("Cannot send data if the connection is not in the 'Connected' State"));
        var held = new TaskCompletionSource();
        await Page.RouteAsync("**/_blazor/negotiate**", async route =>
        {
            await held.Task;
            await route.ContinueAsync();
        });

        // Moving to another server: paused, and its resume waits for a connection.
        await Page.EvaluateAsync("() => chatPortal.moveToAnotherNode()");
        await Expect(chat.ReconnectModal).ToHaveAttributeAsync("data-state", "moving");
        await SaveDesktopAndPhoneAsync(chat, "reconnect-moving");
        held.SetResult();
        await Expect(chat.ReconnectModal).Not.ToBeVisibleAsync();
        await Expect(chat.ComposerInput).ToHaveValueAsync(draft);
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);

        // Reconnecting: the connection dropped, and the retries wait for a connection.
        held = new TaskCompletionSource();
        await Page.EvaluateAsync("() => Blazor._internal.forceCloseConnection()");
        await Expect(chat.ReconnectModal).ToHaveAttributeAsync("data-state", "reconnecting");
        await SaveDesktopAndPhoneAsync(chat, "reconnect-reconnecting");
        held.SetResult();
        await Expect(chat.ReconnectModal).Not.ToBeVisibleAsync();
        await Expect(chat.ComposerInput).ToHaveValueAsync(draft);
    }

    private async Task SaveDesktopAndPhoneAsync(ChatPage chat, string name)
    {
        await Expect(chat.ReconnectModal).ToBeVisibleAsync();
        Screenshots.Publish(await Screenshots.SaveAsync(Page, name + "-desktop.png"), name + "-desktop.png");
        await Page.SetViewportSizeAsync(390, 844);
        await Expect(chat.ReconnectModal).ToBeInViewportAsync();
        Screenshots.Publish(await Screenshots.SaveAsync(Page, name + "-phone.png"), name + "-phone.png");
        await Page.SetViewportSizeAsync(1280, 800);
    }
}
