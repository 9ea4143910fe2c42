using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChatPortal.E2E;

/// <summary>The conversation header's Export menu downloads the conversation through the API, as Markdown and as JSON.</summary>
[Collection(SingleNodeCollection.Name)]
public sealed class ExportTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task ExportDownloadsTheConversationAsMarkdownAndAsJson()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        var id = chat.ConversationId;
        await chat.SendAsync("Compare Raft and Paxos");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var answer = (await chat.GetConversationAsync()).GetProperty("messages")[1].GetProperty("content").GetString()!;

        var markdown = await DownloadAsync("export-markdown");

        Assert.Equal("Compare-Raft-and-Paxos.md", markdown.SuggestedFilename);
        var text = await File.ReadAllTextAsync((await markdown.PathAsync())!);
        Assert.StartsWith("# Compare Raft and Paxos\n", text);
        Assert.Contains("**You** · ", text);
        Assert.Contains(answer.TrimEnd(), text);
        await Expect(Page).ToHaveURLAsync(new Regex($"/c/{id}$")); // a download, not a navigation
        await Expect(chat.ComposerInput).ToBeEnabledAsync();

        var json = await DownloadAsync("export-json");

        Assert.Equal("Compare-Raft-and-Paxos.json", json.SuggestedFilename);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync((await json.PathAsync())!));
        Assert.Equal(id, document.RootElement.GetProperty("id").GetString());
        Assert.Equal(["Compare Raft and Paxos", answer], document.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()));
    }

    private async Task<IDownload> DownloadAsync(string testId)
    {
        await Page.GetByTestId("export-menu").Locator("button").ClickAsync();
        return await Page.RunAndWaitForDownloadAsync(() => Page.GetByTestId(testId).ClickAsync());
    }
}
