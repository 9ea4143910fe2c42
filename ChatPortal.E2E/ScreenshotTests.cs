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
        await chat.OpenAsync();
        await Expect(body).ToHaveCSSAsync("background-color", LightBackground);

        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        await chat.SendAsync("What should the dashboard show?");
        await chat.WaitForWordsAsync(8);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Screenshots.SaveAsync(Page, "chat-streaming.png");
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
}
