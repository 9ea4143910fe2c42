using System.Text.Json;

namespace ChatPortal.E2E;

/// <summary>
/// One user with the same conversation open on two nodes: the answer that node-a writes is seen live on node-b,
/// and node-b stops it. The balancer is left out: each page talks to its node directly.
/// </summary>
public sealed class CrossNodeTests(ClusterFixture fixture) : ClusterTest(fixture)
{
    [Fact]
    public async Task StopClickedOnceOnNodeBStopsTheAnswerStreamingOnNodeA()
    {
        var a = ChatOn(Fixture.A);
        await a.OpenAsync();
        await Expect(a.NodeName).ToHaveTextAsync(ClusterFixture.NodeAId);
        var b = new ChatPage(await NewTabAsync("user on node-b"), Fixture.B);
        await b.OpenAsync(a.ConversationId);
        await Expect(b.NodeName).ToHaveTextAsync(ClusterFixture.NodeBId);

        await a.SendAsync("Why does Stop need to reach the right node?");

        // Node-b shows the answer node-a writes, live, and offers to stop it.
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Expect(b.UserMessages.Last).ToHaveTextAsync("Why does Stop need to reach the right node?");
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        Assert.Equal(await a.LastAnswerTaskIdAsync(), await b.LastAnswerTaskIdAsync());
        await b.WaitForWordsAsync(6);
        var seen = (await b.LastAnswerWordsAsync()).Count;
        await b.WaitForWordsAsync(seen + 6);
        await Expect(b.StopButton).ToBeVisibleAsync();
        await Expect(b.StopButton).ToBeEnabledAsync();

        await b.StopButton.ClickAsync();

        // One click, both pages, within the time a user would call immediate.
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        await Expect(b.StoppedMark).ToBeVisibleAsync();
        await Expect(a.StoppedMark).ToBeVisibleAsync();
        await Expect(a.StopButton).ToHaveCountAsync(0);
        await Expect(b.StopButton).ToHaveCountAsync(0);
        await Expect(a.SendButton).ToBeVisibleAsync();
        await Expect(b.SendButton).ToBeVisibleAsync();

        // The generation on node-a really stopped (at 15 tokens/s, 1.5 s would add ~22 words).
        var shownOnA = await a.LastAnswerTextAsync();
        await Page.WaitForTimeoutAsync(1_500);
        Assert.Equal(shownOnA, await a.LastAnswerTextAsync());
        var words = ChatPage.Words(shownOnA);
        Assert.True(words.Count >= seen + 6, $"The stopped answer lost its text: '{shownOnA}'");

        // Both pages show the same partial answer, and that is what is stored.
        Assert.Equal(words, await b.LastAnswerWordsAsync());
        var conversation = await b.GetConversationAsync();
        Assert.Equal(JsonValueKind.Null, conversation.GetProperty("activeTask").ValueKind);
        var stored = conversation.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal("assistant", stored.GetProperty("role").GetString());
        Assert.Equal("cancelled", stored.GetProperty("status").GetString());
        Assert.Equal(ChatPage.VisibleWordsOfMarkdown(stored.GetProperty("content").GetString()!), words);
    }

    [Fact]
    public async Task ReloadingAStreamingConversationOnTheOtherNodeShowsTheAnswerContinuing()
    {
        var a = ChatOn(Fixture.A);
        await a.OpenAsync();
        await a.SendAsync("Tell me about resumable streams");
        await a.WaitForWordsAsync(20);

        // Opened on node-b mid-answer: the text so far, from its first word, then live.
        var b = new ChatPage(await NewTabAsync("user on node-b"), Fixture.B);
        await b.OpenAsync(a.ConversationId);
        await ExpectContinuingAsync(b, a, atLeast: 20);

        // A reload (the balancer may well send it to another node): again the text so far, still growing.
        var before = (await b.LastAnswerWordsAsync()).Count;
        await b.Page.ReloadAsync();
        await b.WaitUntilReadyAsync();
        await ExpectContinuingAsync(b, a, atLeast: before);

        // Cleanup: stopped from where it was sent; the follower on node-b ends with it.
        await a.StopButton.ClickAsync();
        await Expect(a.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        await Expect(b.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        Assert.Equal(await a.LastAnswerWordsAsync(), await b.LastAnswerWordsAsync());
    }

    /// <summary>
    /// The follower shows the running answer: at least <paramref name="atLeast"/> words at once, starting with the
    /// words the owner's page starts with (a follower that only got live chunks would lack the beginning), and more
    /// words a moment later (read twice).
    /// </summary>
    private static async Task ExpectContinuingAsync(ChatPage follower, ChatPage owner, int atLeast)
    {
        await Expect(follower.AssistantMessages).ToHaveCountAsync(1);
        await Expect(follower.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await Expect(follower.LastAnswer).ToHaveAttributeAsync("in-progress", "true");
        await Expect(follower.StopButton).ToBeVisibleAsync();
        await follower.WaitForWordsAsync(atLeast, timeoutMs: 3_000);

        var first = await follower.LastAnswerWordsAsync();
        var onOwner = await owner.LastAnswerWordsAsync();
        Assert.True(onOwner.Count >= atLeast && first.Count >= atLeast, $"owner {onOwner.Count}, follower {first.Count} words");
        Assert.Equal(onOwner.Take(atLeast - 1), first.Take(atLeast - 1));

        await follower.WaitForWordsAsync(first.Count + 5);
        var second = (await follower.LastAnswerWordsAsync()).Count;
        Assert.True(second > first.Count, $"The answer did not grow: {first.Count} then {second} words.");
    }
}
