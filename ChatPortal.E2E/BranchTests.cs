using System.Text.Json;

namespace ChatPortal.E2E;

/// <summary>Editing a sent question and writing an answer again make branches; "&lt; 2 / 2 &gt;" switches between them.</summary>
[Collection(SingleNodeCollection.Name)]
public sealed class BranchTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task EditingAQuestionBranchesAndTheArrowsSwitchBetweenTheVersions()
    {
        var chat = ChatOn(Fixture.FastNode);
        foreach (var (title, daysAgo) in new[] { ("Lisbon in three days", 9.0), ("Train from Porto to Lisbon", 1.2), ("Packing list for a city weekend", 0.1) })
        {
            var id = await NodeDatabase.CreateConversationAsync(Page, Fixture.FastNode, title);
            await NodeDatabase.SetUpdatedAgoAsync(Fixture.FastNode, id, TimeSpan.FromDays(daysAgo));
        }

        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await chat.SendAsync("Plan a weekend in Porto");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await chat.SendAsync("What should I eat there?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var eatAnswer = await chat.LastAnswerTaskIdAsync();

        await chat.EditQuestionAsync(chat.UserMessages.Last, "What should I drink there?");

        await Expect(chat.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("What should I drink there?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.UserMessages).ToHaveCountAsync(2);
        await Expect(ChatPage.BranchPosition(chat.UserMessages.Last)).ToHaveTextAsync("2 / 2");
        Assert.NotEqual(eatAnswer, await chat.LastAnswerTaskIdAsync());
        var shown = (await chat.GetConversationAsync()).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["Plan a weekend in Porto", "What should I drink there?"], shown.Where(m => m.GetProperty("role").GetString() == "user").Select(m => m.GetProperty("content").GetString()));
        Assert.Equal(2, shown[2].GetProperty("siblingIds").GetArrayLength());
        await chat.UserMessages.Last.EvaluateAsync("m => m.scrollIntoView({ block: 'start' })");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-branch.png"), "chat-branch.png");

        await ChatPage.SwitchBranchAsync(chat.UserMessages.Last, previous: true);

        await Expect(chat.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("What should I eat there?");
        await Expect(ChatPage.BranchPosition(chat.UserMessages.Last)).ToHaveTextAsync("1 / 2");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-message-id", eatAnswer);

        // The choice is stored: a reload shows the same branch.
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("What should I eat there?");
        await ChatPage.SwitchBranchAsync(chat.UserMessages.Last, previous: false);
        await Expect(chat.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("What should I drink there?");
    }

    [Fact]
    public async Task AButtonOfAnEarlierMessageTakesTheClickWhileTheThreadIsPinnedToItsEnd()
    {
        // A button's ripple (a span added on pointer down) used to move the pinned thread under the pointer, and the click
        // went to the page: the answer's Copy and a question's Edit did nothing unless they were in the newest message.
        await Page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Fixture.FastNode.Url });
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await chat.SendAsync("Name three rivers");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await chat.SendAsync("And three lakes?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var first = chat.AssistantMessages.First;
        var text = (await chat.GetConversationAsync()).GetProperty("messages")[1].GetProperty("content").GetString()!;

        await first.HoverAsync();
        await first.GetByTestId("copy-button").ClickAsync();

        await Expect(Page.GetByText("Copied to the clipboard")).ToBeVisibleAsync();
        Assert.Equal(text, await Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
    }

    [Fact]
    public async Task RegenerateKeepsThePreviousAnswerOneStepAwayAndTheNextQuestionFollowsTheBranchOnScreen()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await chat.SendAsync("Explain quorum reads");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var first = await chat.LastAnswerTaskIdAsync();

        await chat.LastAnswer.HoverAsync();
        await chat.LastAnswer.GetByTestId("regenerate-button").ClickAsync();

        await Expect(chat.LastAnswer).Not.ToHaveAttributeAsync("data-message-id", first);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);
        var second = await chat.LastAnswerTaskIdAsync();
        await Expect(ChatPage.BranchPosition(chat.LastAnswer)).ToHaveTextAsync("2 / 2");

        await ChatPage.SwitchBranchAsync(chat.LastAnswer, previous: true);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-message-id", first);
        await Expect(ChatPage.BranchPosition(chat.LastAnswer)).ToHaveTextAsync("1 / 2");

        await chat.SendAsync("And quorum writes?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var messages = (await chat.GetConversationAsync()).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(first, messages[2].GetProperty("parentId").GetString());
        Assert.Equal([first, second], messages[1].GetProperty("siblingIds").EnumerateArray().Select(s => s.GetString()));
    }
}
