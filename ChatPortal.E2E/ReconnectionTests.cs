namespace ChatPortal.E2E;

/// <summary>A Blazor circuit whose WebSocket drops comes back to the same circuit, as aspnetcore's ServerReconnectionTest drives it.</summary>
public sealed class ReconnectionTests(ClusterFixture fixture) : ClusterTest(fixture)
{
    private const string Draft = "A draft I have not sent yet";

    [Fact]
    public async Task ACircuitWhoseConnectionIsCutComesBackWithItsState()
    {
        var chat = ChatOn(Fixture.A);
        await chat.OpenAsync();
        await chat.SendAsync("Keep this conversation");
        await chat.WaitForWordsAsync(8);
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        var answer = await chat.LastAnswerWordsAsync();
        await chat.ComposerInput.FillAsync(Draft);
        await Expect(chat.SendButton).ToBeEnabledAsync();

        // The reconnect UI reports each state it goes through.
        await Page.EvaluateAsync("""
            () => {
                window.__reconnectStates = [];
                document.getElementById('components-reconnect-modal')
                    .addEventListener('components-reconnect-state-changed', e => window.__reconnectStates.push(e.detail.state));
            }
            """);

        var closed = await Page.EvaluateAsync<bool>("""
            () => {
                const closing = Blazor._internal.forceCloseConnection();
                return closing instanceof Promise ? closing.then(() => true) : false;
            }
            """);
        Assert.True(closed, "forceCloseConnection did not return a promise that resolves.");

        // Down, then back on the same circuit (not a reload: the handler is still registered).
        await Page.WaitForFunctionAsync("() => window.__reconnectStates.includes('hide')", null, new() { Timeout = 15_000 });
        var states = await Page.EvaluateAsync<string[]>("() => window.__reconnectStates");
        Assert.Equal("show", states[0]);
        Assert.DoesNotContain("rejected", states);
        Assert.DoesNotContain("failed", states);

        // Its state came back with it: the messages, and the draft in the composer.
        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        await Expect(chat.UserMessages.First).ToHaveTextAsync("Keep this conversation");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled");
        await Expect(chat.StoppedMark).ToBeVisibleAsync();
        Assert.Equal(answer, await chat.LastAnswerWordsAsync());
        await Expect(chat.ComposerInput).ToHaveValueAsync(Draft);

        // And it works: the next message is sent, answered live and stopped.
        await chat.SendAsync("Still there?");
        await Expect(chat.AssistantMessages).ToHaveCountAsync(2);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await chat.WaitForWordsAsync(5);
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
    }
}
