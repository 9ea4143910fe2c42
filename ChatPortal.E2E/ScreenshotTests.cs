using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>Key screens as images: artifacts/screenshots, and the light chat as docs/images/chat.png for the README.</summary>
[Collection(SingleNodeCollection.Name)]
public sealed class ScreenshotTests(SingleNodeFixture fixture) : BrowserTest(fixture)
{
    // The themes' page backgrounds (ChatPortalTheme: #f8fafc, #0b1120).
    private const string LightBackground = "rgb(248, 250, 252)";
    private const string DarkBackground = "rgb(11, 17, 32)";

    private static string ScreenshotDirectory => Path.Combine(RepositoryPaths.ArtifactsDirectory, "screenshots");

    [Fact]
    public async Task ScreenshotsOfTheChatInLightAndDark()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var chat = ChatOn(Fixture.FastNode);
        var body = Page.Locator("body");
        await chat.OpenAsync();
        await Expect(body).ToHaveCSSAsync("background-color", LightBackground);

        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        await chat.SendAsync("What should the dashboard show?");
        await chat.WaitForWordsAsync(8);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await ScreenshotAsync("chat-streaming.png");
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(chat.StoppedMark).ToBeVisibleAsync();

        // No hover tooltip in the pictures.
        await Page.Mouse.MoveAsync(1, 1);
        var lightPath = await ScreenshotAsync("chat-light.png");
        var docs = Path.Combine(RepositoryPaths.Root, "docs", "images");
        Directory.CreateDirectory(docs);
        File.Copy(lightPath, Path.Combine(docs, "chat.png"), overwrite: true);

        await chat.ThemeToggle.ClickAsync();
        await Expect(body).ToHaveCSSAsync("background-color", DarkBackground);
        Assert.Equal("dark", await Page.EvaluateAsync<string>("localStorage.getItem('chatportal-theme')"));

        // The choice is remembered: a reload comes back dark, with the same conversation.
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(body).ToHaveCSSAsync("background-color", DarkBackground);
        await Expect(chat.AssistantMessages).ToHaveCountAsync(2);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Page.Mouse.MoveAsync(1, 1);
        await ScreenshotAsync("chat-dark.png");
    }

    private async Task<string> ScreenshotAsync(string name)
    {
        var path = Path.Combine(ScreenshotDirectory, name);
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true, Animations = ScreenshotAnimations.Disabled });
        return path;
    }
}
