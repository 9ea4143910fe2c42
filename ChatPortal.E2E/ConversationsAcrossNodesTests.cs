using System.Text.RegularExpressions;

namespace ChatPortal.E2E;

/// <summary>
/// The list and the branches on the two-node cluster (PostgreSQL, Redis): what one node changes is what the other node
/// shows, because it lives in the database, not in a node.
/// </summary>
public sealed class ConversationsAcrossNodesTests(ClusterFixture fixture) : ClusterTest(fixture)
{
    [Fact]
    public async Task ABranchARenameASearchAndADeleteOnOneNodeAreWhatTheOtherNodeShows()
    {
        var a = ChatOn(Fixture.A);
        await a.OpenAsync();
        var id = a.ConversationId;
        await AskAndStopAsync(a, "Compare two regions");
        var b = new ChatPage(await NewTabAsync("user on node-b"), Fixture.B);
        await b.OpenAsync(id);
        await Expect(b.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("Compare two regions");

        // A new version of the question on node-a: node-b follows it live, with its "2 / 2".
        await a.EditQuestionAsync(a.UserMessages.Last, "Compare three regions");
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await a.WaitForWordsAsync(3);
        await a.StopButton.ClickAsync();
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(b.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("Compare three regions");
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(ChatPage.BranchPosition(b.UserMessages.Last)).ToHaveTextAsync("2 / 2");

        // Switched back on node-b: node-a shows that branch after a reload.
        await ChatPage.SwitchBranchAsync(b.UserMessages.Last, previous: true);
        await Expect(b.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("Compare two regions");
        await a.Page.ReloadAsync();
        await a.WaitUntilReadyAsync();
        await Expect(a.UserMessages.Last.Locator(".cp-user-text")).ToHaveTextAsync("Compare two regions");
        await Expect(ChatPage.BranchPosition(a.UserMessages.Last)).ToHaveTextAsync("1 / 2");

        // Renamed on node-a, found by node-b's search (PostgreSQL's full-text index).
        await a.PickFromConversationMenuAsync(id, "Rename");
        await a.RenameInput.FillAsync("Cloud regions shortlist");
        await a.RenameInput.PressAsync("Enter");
        await Expect(a.ConversationItem(id)).ToHaveTextAsync("Cloud regions shortlist");
        await b.ConversationSearch.FillAsync("shortl");
        await Expect(b.SearchResultsHeading).ToHaveTextAsync("1 result");
        await Expect(b.ConversationItem(id)).ToHaveTextAsync("Cloud regions shortlist");
        await b.ConversationSearch.FillAsync("three regions");
        await Expect(b.ConversationItem(id).Locator("mark").First).ToBeVisibleAsync(); // the other branch's question is found too

        // Deleted on node-a: gone on node-b; Undo on node-a: back on node-b.
        await a.PickFromConversationMenuAsync(id, "Delete");
        await Expect(a.Page).Not.ToHaveURLAsync(new Regex($"/c/{id}$"));
        Assert.Equal(404, (await NodeDatabase.GetAsync(b.Page, Fixture.B, $"api/conversations/{id}")).Status);
        await a.UndoDeleteButton.ClickAsync();
        await Expect(a.Page).ToHaveURLAsync(new Regex($"/c/{id}$"));
        Assert.Equal(200, (await NodeDatabase.GetAsync(b.Page, Fixture.B, $"api/conversations/{id}")).Status);
    }

    [Fact]
    public async Task AnAnswerWrittenAgainOnOneNodeIsAVersionOnTheOtherAndNeitherClearsUnderARunningAnswer()
    {
        var a = ChatOn(Fixture.A);
        await a.OpenAsync();
        var id = a.ConversationId;
        await AskAndStopAsync(a, "Name three databases");
        var first = await a.LastAnswerTaskIdAsync();
        var b = new ChatPage(await NewTabAsync("user on node-b"), Fixture.B);
        await b.OpenAsync(id);
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(b.Page.GetByTestId("clear-button")).ToBeEnabledAsync();

        // Written again on node-b: while it runs, node-a shows it streaming and neither page offers Clear (the rule is
        // Core's, and the store refuses it anyway: the API says 409 with the same words).
        await b.LastAnswer.HoverAsync();
        await b.LastAnswer.GetByTestId("regenerate-button").ClickAsync();
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Expect(a.Page.GetByTestId("clear-button")).ToBeDisabledAsync();
        await Expect(b.Page.GetByTestId("clear-button")).ToBeDisabledAsync();
        var refused = await a.Page.APIRequest.DeleteAsync($"{Fixture.A.Url}/api/conversations/{id}/messages");
        Assert.Equal(409, refused.Status);
        Assert.Contains("before clearing the history", await refused.TextAsync());

        await a.WaitForWordsAsync(3);
        await a.StopButton.ClickAsync(); // stopped from the node that did not start it
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(ChatPage.BranchPosition(a.LastAnswer)).ToHaveTextAsync("2 / 2");
        await Expect(ChatPage.BranchPosition(b.LastAnswer)).ToHaveTextAsync("2 / 2");
        await Expect(a.Page.GetByTestId("clear-button")).ToBeEnabledAsync();

        // The first version, switched to on node-a, is the one node-b shows after a reload.
        await ChatPage.SwitchBranchAsync(a.LastAnswer, previous: true);
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-message-id", first);
        await b.Page.ReloadAsync();
        await b.WaitUntilReadyAsync();
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-message-id", first);
        await Expect(ChatPage.BranchPosition(b.LastAnswer)).ToHaveTextAsync("1 / 2");
    }

    private static async Task AskAndStopAsync(ChatPage chat, string question)
    {
        await chat.SendAsync(question);
        await chat.WaitForWordsAsync(3);
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
    }
}
