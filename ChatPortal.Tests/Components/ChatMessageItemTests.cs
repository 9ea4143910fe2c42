using Bunit;
using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Conversations;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Components;

public sealed class ChatMessageItemTests : ComponentTest
{
    private static readonly DateTimeOffset Now = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Theory]
    [InlineData(ChatRole.User, MessageStatus.Completed, "user", "completed")]
    [InlineData(ChatRole.Assistant, MessageStatus.Completed, "assistant", "completed")]
    [InlineData(ChatRole.Assistant, MessageStatus.Streaming, "assistant", "streaming")]
    [InlineData(ChatRole.Assistant, MessageStatus.Cancelled, "assistant", "cancelled")]
    [InlineData(ChatRole.Assistant, MessageStatus.Failed, "assistant", "failed")]
    public void TheMessageCarriesItsTestIdRoleAndStatus(ChatRole role, MessageStatus status, string dataRole, string dataStatus)
    {
        var cut = RenderMessage(new ChatMessage("m1", role, "Some text", status, Now));

        var element = cut.Find("[data-testid=message]");
        Assert.Equal(dataRole, element.GetAttribute("data-role"));
        Assert.Equal(dataStatus, element.GetAttribute("data-status"));
        Assert.Equal("m1", element.GetAttribute("data-message-id"));
    }

    [Fact]
    public void AStreamingMessageIsMarkedInProgress()
    {
        var cut = RenderMessage(Assistant("Partial", MessageStatus.Streaming));

        Assert.True(cut.Find("[data-testid=message]").HasAttribute("in-progress"));
        Assert.Empty(cut.FindAll("[data-testid=typing-indicator]"));
        Assert.Contains("Partial", cut.Find(".cp-markdown").TextContent);
    }

    [Theory]
    [InlineData(MessageStatus.Completed)]
    [InlineData(MessageStatus.Cancelled)]
    [InlineData(MessageStatus.Failed)]
    public void AnEndedMessageIsNotInProgress(MessageStatus status)
    {
        var cut = RenderMessage(Assistant("Done", status));

        Assert.False(cut.Find("[data-testid=message]").HasAttribute("in-progress"));
        Assert.Empty(cut.FindAll("[data-testid=typing-indicator]"));
    }

    [Fact]
    public void AnEmptyStreamingMessageShowsTheTypingIndicator()
    {
        var cut = RenderMessage(Assistant("", MessageStatus.Streaming));

        Assert.True(cut.Find("[data-testid=message]").HasAttribute("in-progress"));
        Assert.Single(cut.FindAll("[data-testid=typing-indicator]"));
    }

    [Fact]
    public void ACancelledAnswerShowsTheStoppedMarkAndKeepsItsText()
    {
        var cut = RenderMessage(Assistant("Half an answer", MessageStatus.Cancelled));

        Assert.Single(cut.FindAll("[data-testid=stopped-mark]"));
        Assert.Empty(cut.FindAll("[data-testid=failed-mark]"));
        Assert.Contains("Half an answer", cut.Find(".cp-markdown").TextContent);
    }

    [Fact]
    public void ACompletedAnswerHasNoMark()
    {
        var cut = RenderMessage(Assistant("Whole answer", MessageStatus.Completed));

        Assert.Empty(cut.FindAll("[data-testid=stopped-mark]"));
        Assert.Empty(cut.FindAll("[data-testid=failed-mark]"));
    }

    [Fact]
    public void AFailedAnswerShowsTheReasonAndKeepsItsText()
    {
        var cut = RenderMessage(Assistant("Before the error", MessageStatus.Failed) with { Error = "The model endpoint answered 503 ServiceUnavailable." });

        Assert.Contains("The model endpoint answered 503 ServiceUnavailable.", cut.Find("[data-testid=failed-mark]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=stopped-mark]"));
        Assert.Contains("Before the error", cut.Find(".cp-markdown").TextContent);
    }

    [Fact]
    public void AFailedAnswerWithoutAReasonSaysItFailed()
    {
        var cut = RenderMessage(Assistant("", MessageStatus.Failed));

        Assert.Contains("The answer failed.", cut.Find("[data-testid=failed-mark]").TextContent);
    }

    [Fact]
    public void AnAssistantAnswerIsRenderedAsMarkdown()
    {
        var cut = RenderMessage(Assistant("Some **bold** text\n\n- one\n- two\n\n```csharp\nvar x = 1;\n```", MessageStatus.Completed));

        var markdown = cut.Find(".cp-markdown");
        Assert.Equal("bold", markdown.QuerySelector("strong")?.TextContent);
        Assert.Equal(2, markdown.QuerySelectorAll("li").Length);
        Assert.NotNull(markdown.QuerySelector("pre code.language-csharp"));
    }

    [Fact]
    public void AnAssistantAnswerCannotInjectHtml()
    {
        var cut = RenderMessage(Assistant("<img src=x onerror=alert(1)> [x](javascript:alert(1))", MessageStatus.Completed));

        Assert.Empty(cut.FindAll(".cp-markdown img"));
        Assert.Equal("#", cut.Find(".cp-markdown a").GetAttribute("href"));
    }

    [Fact]
    public void UserTextIsShownAsTextNotRenderedAsHtmlOrMarkdown()
    {
        const string text = "<b>not bold</b> **not strong** <script>alert(1)</script>";
        var cut = RenderMessage(new ChatMessage("u1", ChatRole.User, text, MessageStatus.Completed, Now));

        var bubble = cut.Find(".cp-user-text");
        Assert.Equal(text, bubble.TextContent);
        Assert.Empty(bubble.Children);
        Assert.Empty(cut.FindAll(".cp-markdown"));
        Assert.Empty(cut.FindAll("script"));
    }

    [Fact]
    public void AnEndedAnswerOffersCopyAndRegenerateWhenAllowed()
    {
        var regenerated = 0;
        var cut = Render<ChatMessageItem>(p => p
            .Add(c => c.Message, Assistant("Done", MessageStatus.Completed))
            .Add(c => c.OnRegenerate, () => regenerated++));

        Assert.Single(cut.FindAll("[data-testid=copy-button]"));
        cut.Find("[data-testid=regenerate-button]").Click();

        Assert.Equal(1, regenerated);
    }

    [Fact]
    public void AStreamingAnswerOffersNoActions()
    {
        var cut = RenderMessage(Assistant("Partial", MessageStatus.Streaming));

        Assert.Empty(cut.FindAll("[data-testid=copy-button]"));
        Assert.Empty(cut.FindAll("[data-testid=regenerate-button]"));
    }

    [Fact]
    public void TheSameMessageDoesNotRenderAgainButANewOneDoes()
    {
        var message = Assistant("First", MessageStatus.Streaming);
        var cut = RenderMessage(message);
        var renders = cut.RenderCount;

        cut.Render(p => p.Add(c => c.Message, message));
        Assert.Equal(renders, cut.RenderCount);

        cut.Render(p => p.Add(c => c.Message, message with { Content = "First and more", Status = MessageStatus.Completed }));
        Assert.Equal(renders + 1, cut.RenderCount);
        Assert.Equal("completed", cut.Find("[data-testid=message]").GetAttribute("data-status"));
        Assert.Contains("First and more", cut.Find(".cp-markdown").TextContent);
    }

    [Fact]
    public void ACodeBlockShowsItsLanguageACopyButtonAndHighlightedCode()
    {
        var cut = RenderMessage(Assistant("Try this:\n\n```python\ndef f():\n    return 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |", MessageStatus.Completed));

        var block = cut.Find(".cp-markdown .cp-code");
        Assert.Equal("Python", block.QuerySelector(".cp-code-lang")?.TextContent);
        var copy = block.QuerySelector("button[data-copy-code]");
        Assert.NotNull(copy);
        Assert.Equal("Copy code", copy!.GetAttribute("aria-label"));
        Assert.Equal("def", block.QuerySelector("pre code .keyword")?.TextContent);
        Assert.Equal("def f():\n    return 1", block.QuerySelector("pre code")?.TextContent);
        Assert.NotNull(cut.Find(".cp-markdown .cp-table > table"));
    }

    [Fact]
    public void AStoredAnswerIsShownInTheSameBlocksAsTheStreamedOne()
    {
        const string text = "First paragraph.\n\n```js\nlet a = 1;\n\nlet b = 2;\n```\n\nLast paragraph.";
        var streamed = new ChatPortal.Rendering.IncrementalMarkdown(Services.GetRequiredService<ChatPortal.Rendering.MarkdownRenderer>());
        for (var i = 1; i <= text.Length; i += 7)
        {
            streamed.Update(text[..i]);
        }

        var live = Render<ChatMessageItem>(p => p
            .Add(c => c.Message, Assistant(text, MessageStatus.Streaming))
            .Add(c => c.Rendered, streamed.Update(text)));
        var stored = RenderMessage(Assistant(text, MessageStatus.Completed));

        Assert.Equal(2, streamed.Update(text).Blocks.Count); // the last line waits for its line break
        Assert.Equal(stored.Find(".cp-markdown").InnerHtml, live.Find(".cp-markdown").InnerHtml);
    }

    [Fact]
    public void TheTypingIndicatorHasARoleForItsLabel()
    {
        var cut = RenderMessage(Assistant("", MessageStatus.Streaming));

        var typing = cut.Find("[data-testid=typing-indicator]");
        Assert.Equal("img", typing.GetAttribute("role"));
        Assert.False(string.IsNullOrEmpty(typing.GetAttribute("aria-label")));
    }

    private IRenderedComponent<ChatMessageItem> RenderMessage(ChatMessage message) =>
        Render<ChatMessageItem>(p => p.Add(c => c.Message, message));

    private static ChatMessage Assistant(string content, MessageStatus status) =>
        new("a1", ChatRole.Assistant, content, status, Now);
}
