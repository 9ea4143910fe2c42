using Bunit;
using ChatPortal.Components.Pages.Chat;

namespace ChatPortal.Tests.Components;

public sealed class StreamingMessageItemTests : ComponentTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void ABurstOfChunksIsRenderedInFarFewerRendersThanChunks()
    {
        const int appends = 500;
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);
        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));
        var rendersBefore = cut.RenderCount;

        for (var i = 0; i < appends; i++)
        {
            answer.Append($"word{i} ");
        }

        Assert.True(cut.RenderCount - rendersBefore < appends / 10, $"{cut.RenderCount - rendersBefore} renders for {appends} chunks.");
        Assert.True(cut.Instance.RenderCount < appends / 10, $"{cut.Instance.RenderCount} renders for {appends} chunks.");
        cut.WaitForAssertion(() => Assert.Contains($"word{appends - 1}", cut.Find(".cp-markdown").TextContent), Patience);
        Assert.Contains("word0 word1 word2", cut.Find(".cp-markdown").TextContent);
        Assert.True(cut.RenderCount - rendersBefore < appends / 10, $"{cut.RenderCount - rendersBefore} renders for {appends} chunks.");
    }

    [Fact]
    public void BoldStillBeingWrittenShowsAsBoldNotAsStars()
    {
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);
        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));

        answer.Append("Rule one: **Make every");

        cut.WaitForAssertion(() => Assert.Equal("Make every", cut.Find(".cp-markdown strong").TextContent), Patience);
        Assert.DoesNotContain("*", cut.Find(".cp-markdown").TextContent);
        Assert.Equal("Rule one: **Make every", answer.Text);
    }

    [Fact]
    public void ChunksAfterAQuietSpellStillAppear()
    {
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);
        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));

        answer.Append("Hello");
        cut.WaitForAssertion(() => Assert.Contains("Hello", cut.Find(".cp-markdown").TextContent), Patience);
        answer.Append(" world");

        cut.WaitForAssertion(() => Assert.Contains("Hello world", cut.Find(".cp-markdown").TextContent), Patience);
    }

    [Fact]
    public void ItStartsAsAStreamingMessageWithTheTypingIndicator()
    {
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);

        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));

        var message = cut.Find("[data-testid=message]");
        Assert.Equal("streaming", message.GetAttribute("data-status"));
        Assert.Equal("assistant", message.GetAttribute("data-role"));
        Assert.Equal("task-1", message.GetAttribute("data-message-id"));
        Assert.True(message.HasAttribute("in-progress"));
        Assert.Single(cut.FindAll("[data-testid=typing-indicator]"));
    }

    [Fact]
    public void TextAlreadyThereIsShownAtOnce()
    {
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);
        answer.Append("Snapshot **so far**");

        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));

        Assert.Equal("so far", cut.Find(".cp-markdown strong").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=typing-indicator]"));
    }

    [Fact]
    public void FinishedBlocksAreParsedOnceNotOnEveryRender()
    {
        const int tokenCount = 1_200;
        var tokens = ChatPortal.Core.Generation.SimulatedChatClient.Tokenize(
            ChatPortal.Core.Generation.SimulatedChatClient.Compose("How do I stream an answer?", tokenCount), tokenCount);
        var text = string.Concat(tokens);
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);
        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));
        long naive = 0;

        // 60 batches, each rendered before the next arrives: what a page sees at 20 renders a second.
        foreach (var batch in tokens.Chunk(tokenCount / 60))
        {
            var parsedBefore = cut.Instance.CharactersParsed;
            answer.Append(string.Concat(batch));
            cut.WaitForState(() => cut.Instance.CharactersParsed > parsedBefore, Patience); // this batch was rendered
            naive += answer.Text.Length;
        }

        cut.WaitForAssertion(() => Assert.EndsWith(ChatPage(tokens[^1]), cut.Find(".cp-markdown").TextContent.TrimEnd()), Patience);
        var parsed = cut.Instance.CharactersParsed;
        Assert.True(parsed < naive / 5, $"{parsed} characters parsed over 60 renders of a {text.Length}-character answer; re-parsing it whole each time: {naive}.");
        Assert.True(cut.FindAll(".cp-markdown .cp-code").Count >= 5);
    }

    private static string ChatPage(string token) => token.Trim().TrimEnd('`').Trim();

    [Fact]
    public async Task ADisposedItemStopsListeningToTheAnswer()
    {
        var answer = new StreamingAnswer("task-1", DateTimeOffset.UtcNow);
        var cut = Render<StreamingMessageItem>(p => p.Add(c => c.Answer, answer));
        var item = cut.Instance;
        var renders = item.RenderCount;

        await DisposeComponentsAsync();
        answer.Append("after dispose");

        Assert.Equal(renders, item.RenderCount);
        Assert.Null(typeof(StreamingAnswer).GetField("Changed", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)?.GetValue(answer));
    }
}
