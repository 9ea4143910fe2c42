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

    [Theory]
    [InlineData(MessageStatus.Cancelled)]
    [InlineData(MessageStatus.Failed)]
    public void AnAnswerCutInTheMiddleOfBoldShowsNoStars(MessageStatus status)
    {
        var message = Assistant("Here is what matters most:\n\n- **Make", status);

        var cut = RenderMessage(message);

        Assert.Equal("Make", cut.Find(".cp-markdown li strong").TextContent);
        Assert.DoesNotContain("*", cut.Find(".cp-markdown").TextContent);
        Assert.Equal("Here is what matters most:\n\n- **Make", message.Content); // only the rendering changes
    }

    [Fact]
    public void AStoppedAnswerLooksAsItDidWhileItStreamed()
    {
        const string text = "Intro.\n\nSee [the docs](https://example.com/do";
        var streaming = new ChatPortal.Rendering.IncrementalMarkdown(Services.GetRequiredService<ChatPortal.Rendering.MarkdownRenderer>(), partial: true);

        var live = Render<ChatMessageItem>(p => p
            .Add(c => c.Message, Assistant(text, MessageStatus.Streaming))
            .Add(c => c.Rendered, streaming.Update(text)));
        var stopped = RenderMessage(Assistant(text, MessageStatus.Cancelled));

        Assert.Equal(live.Find(".cp-markdown").InnerHtml, stopped.Find(".cp-markdown").InnerHtml);
        Assert.Contains("See the docs", stopped.Find(".cp-markdown").TextContent);
        Assert.Empty(stopped.FindAll(".cp-markdown a"));
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

    [Fact]
    public void AnAnswerShowsItsModelAndTheUsageTheModelReported()
    {
        var message = Assistant("Done", MessageStatus.Completed) with { ModelId = "model-a", Usage = new AnswerUsage(1234, 56, Estimated: false, FirstTokenMs: 420, TokensPerSecond: 51.7) };

        var cut = Render<ChatMessageItem>(p => p.Add(c => c.Message, message).Add(c => c.ModelName, "Model A"));

        var usage = cut.Find("[data-testid=answer-usage]");
        Assert.Equal("false", usage.GetAttribute("data-estimated"));
        Assert.Equal("Model A", cut.Find("[data-testid=answer-model]").TextContent);
        var text = System.Text.RegularExpressions.Regex.Replace(usage.TextContent, @"\s+", " ").Trim();
        Assert.Contains("1,234 in · 56 out", text);
        Assert.Contains("420 ms to first token", text);
        Assert.Contains("52 tokens/s", text);
        Assert.DoesNotContain("estimated", text);
    }

    [Fact]
    public void AnEstimatedUsageSaysItIsAnEstimate()
    {
        var message = Assistant("Stopped early", MessageStatus.Cancelled) with { ModelId = "gone-model", Usage = new AnswerUsage(100, 20, Estimated: true, FirstTokenMs: 1500) };

        var cut = RenderMessage(message);

        var usage = cut.Find("[data-testid=answer-usage]");
        Assert.Equal("true", usage.GetAttribute("data-estimated"));
        Assert.Equal("gone-model", cut.Find("[data-testid=answer-model]").TextContent); // a model no longer configured: its id
        var text = System.Text.RegularExpressions.Regex.Replace(usage.TextContent, @"\s+", " ").Trim();
        Assert.Contains("~100 in · ~20 out (estimated)", text);
        Assert.Contains("1.5 s to first token", text);
        Assert.DoesNotContain("tokens/s", text);
    }

    [Fact]
    public void QuestionsAndAnswersBeingWrittenShowNoUsage()
    {
        Assert.Empty(RenderMessage(new ChatMessage("u1", ChatRole.User, "Hi", MessageStatus.Completed, Now)).FindAll("[data-testid=answer-usage]"));
        Assert.Empty(RenderMessage(Assistant("Partial", MessageStatus.Streaming) with { ModelId = "m" }).FindAll("[data-testid=answer-usage]"));
        Assert.Empty(RenderMessage(Assistant("Old answer", MessageStatus.Completed)).FindAll("[data-testid=answer-usage]")); // stored before usage was recorded
    }

    private IRenderedComponent<ChatMessageItem> RenderMessage(ChatMessage message) =>
        Render<ChatMessageItem>(p => p.Add(c => c.Message, message));

    private static ChatMessage Assistant(string content, MessageStatus status) =>
        new("a1", ChatRole.Assistant, content, status, Now);
}
