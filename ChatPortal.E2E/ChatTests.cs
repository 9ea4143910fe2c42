using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChatPortal.E2E;

[Collection(SingleNodeCollection.Name)]
public sealed class ChatTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task AnAnswersCopyButtonPutsItsMarkdownOnTheClipboardAndSaysSoOnce()
    {
        await Page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Fixture.FastNode.Url });
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await chat.SendAsync("Summarise the plan");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var stored = (await chat.GetConversationAsync()).GetProperty("messages")[1].GetProperty("content").GetString()!;

        await chat.LastAnswer.HoverAsync();
        await chat.LastAnswer.GetByTestId("copy-button").ClickAsync();

        // The confirmation is a short toast from the page's one notice service, not an alert that stays.
        await Expect(Page.Locator(".mud-snackbar").Filter(new() { HasText = "Copied to the clipboard" })).ToHaveCountAsync(1);
        await Expect(chat.ChatError).ToHaveCountAsync(0);
        Assert.Equal(stored, await Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        Assert.Contains("```", stored); // the Markdown, code fences included, not the rendered text
    }

    [Fact]
    public async Task ASuggestionOnAnEmptyConversationGoesIntoTheComposerToSendOrChange()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        var suggestion = Page.GetByTestId("suggestion").Filter(new() { HasText = "Compare" });
        var prompt = await suggestion.Locator(".cp-suggestion-prompt").InnerTextAsync();

        await suggestion.ClickAsync();

        await Expect(chat.ComposerInput).ToHaveValueAsync(prompt);
        await Expect(chat.ComposerInput).ToBeFocusedAsync();
        await Expect(chat.UserMessages).ToHaveCountAsync(0); // not sent until the user says so
        await Page.Keyboard.PressAsync("End");
        await Page.Keyboard.TypeAsync(", briefly");
        await Page.Keyboard.PressAsync("Enter");
        await Expect(chat.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync(prompt + ", briefly");
        await Expect(Page.GetByTestId("suggestion")).ToHaveCountAsync(0);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
    }

    [Fact]
    public async Task SendingAMessageStreamsTheAnswer()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await Expect(chat.NodeName).ToHaveTextAsync(SingleNodeFixture.NodeId);
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();

        await chat.ComposerInput.FillAsync("How does streaming work?");
        await chat.ComposerInput.PressAsync("Enter");

        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        await Expect(chat.UserMessages.First).ToHaveTextAsync("How does streaming work?");
        await Expect(chat.ComposerInput).ToHaveValueAsync("");
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Expect(chat.StopButton).ToBeVisibleAsync();
        await Expect(chat.SendButton).ToHaveCountAsync(0);

        await chat.WaitForWordsAsync(3);
        var before = ChatPage.Words(await chat.LastAnswerTextAsync()).Count;
        await chat.WaitForWordsAsync(before + 5);
        var after = ChatPage.Words(await chat.LastAnswerTextAsync()).Count;
        Assert.True(after > before, $"The answer did not grow: {before} then {after} words.");

        // Still the same live answer, still stoppable.
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("in-progress", "true");
        await Expect(chat.StopButton).ToBeVisibleAsync();
        await Expect(chat.SendButton).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task StopOnceKeepsThePartialAnswerMarkedStoppedAcrossReload()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("Explain cancellation across nodes");
        await chat.WaitForWordsAsync(12);

        await chat.StopButton.ClickAsync();

        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        await Expect(chat.StoppedMark).ToBeVisibleAsync();
        await Expect(chat.StopButton).ToHaveCountAsync(0);
        await Expect(chat.SendButton).ToBeVisibleAsync();
        var shown = await chat.LastAnswerTextAsync();
        var shownWords = ChatPage.Words(shown);
        Assert.True(shownWords.Count >= 12, $"The partial answer lost its text: '{shown}'");

        // The generation really stopped: nothing more arrives (at 15 tokens/s, 1.5 s would add ~22 words).
        await Page.WaitForTimeoutAsync(1_500);
        Assert.Equal(shown, await chat.LastAnswerTextAsync());
        Assert.Equal("cancelled", await chat.LastAnswer.GetAttributeAsync("data-status"));

        // What is stored is what was shown.
        var conversation = await chat.GetConversationAsync();
        Assert.Equal(JsonValueKind.Null, conversation.GetProperty("activeTask").ValueKind);
        var stored = conversation.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal("assistant", stored.GetProperty("role").GetString());
        Assert.Equal("cancelled", stored.GetProperty("status").GetString());
        Assert.Equal(ChatPage.VisibleWordsOfMarkdown(stored.GetProperty("content").GetString()!), shownWords);

        // A reload shows the same stopped answer, and the conversation is ready for the next question.
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(chat.StoppedMark).ToBeVisibleAsync();
        Assert.Equal(shownWords, ChatPage.Words(await chat.LastAnswerTextAsync()));
        await Expect(chat.SendButton).ToBeVisibleAsync();
        await Expect(chat.StopButton).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ShiftEnterAddsANewLineAndEnterSends()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        var oneLine = await HeightAsync(chat.ComposerInput);

        await chat.ComposerInput.PressSequentiallyAsync("First line");
        await chat.ComposerInput.PressAsync("Shift+Enter");
        await chat.ComposerInput.PressSequentiallyAsync("second line");

        await Expect(chat.ComposerInput).ToHaveValueAsync("First line\nsecond line");
        await Expect(chat.SendButton).ToBeEnabledAsync();
        await Expect(chat.Messages).ToHaveCountAsync(0);
        Assert.True(await HeightAsync(chat.ComposerInput) > oneLine, "The text area did not grow with its second line.");

        await chat.ComposerInput.PressAsync("Enter");

        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        Assert.Equal("First line\nsecond line", await chat.UserMessages.First.Locator(".cp-user-text").InnerTextAsync());
        await Expect(chat.ComposerInput).ToHaveValueAsync("");
        Assert.InRange(await HeightAsync(chat.ComposerInput), oneLine - 1, oneLine + 1);
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
    }

    [Fact]
    public async Task ConversationListShowsAndSwitchesConversations()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        var first = chat.ConversationId;
        await chat.SendAsync("Plan a trip to Lisbon");

        var firstItem = chat.ConversationItems.And(Page.Locator($"[data-conversation-id='{first}']"));
        await Expect(firstItem).ToHaveTextAsync("Plan a trip to Lisbon");
        await Expect(firstItem).ToHaveAttributeAsync("aria-current", "page");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        await chat.NewConversationButton.ClickAsync();

        await Expect(Page).ToHaveURLAsync(new Regex("/c/(?!" + Regex.Escape(first) + ")[^/]+$"));
        var second = chat.ConversationId;
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(chat.Messages).ToHaveCountAsync(0);
        await Expect(chat.ConversationItems).ToHaveCountAsync(2);
        await Expect(chat.ConversationItems.And(Page.Locator($"[data-conversation-id='{second}']"))).ToHaveAttributeAsync("aria-current", "page");
        await Expect(firstItem).Not.ToHaveAttributeAsync("aria-current", "page");

        await firstItem.ClickAsync();

        await Expect(Page).ToHaveURLAsync(new Regex("/c/" + Regex.Escape(first) + "$"));
        await Expect(firstItem).ToHaveAttributeAsync("aria-current", "page");
        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        await Expect(chat.UserMessages.First).ToHaveTextAsync("Plan a trip to Lisbon");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.EmptyConversation).ToHaveCountAsync(0);
    }

    private static async Task<double> HeightAsync(ILocator locator) =>
        (await locator.BoundingBoxAsync())?.Height ?? throw new InvalidOperationException("Not visible.");
}
