using System.Text.RegularExpressions;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Generation;
using ChatPortal.Rendering;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatPortal.Tests.Unit;

public sealed partial class SimulatedChatClientTests
{
    [Fact]
    public async Task TheSameQuestionGetsTheSameAnswer()
    {
        var client = Client(responseTokens: 150);

        var first = await StreamAsync(client, "How do I cancel a stream?");
        var second = await StreamAsync(client, "How do I cancel a stream?");
        var other = await StreamAsync(client, "What is Redis?");

        Assert.Equal(string.Concat(first), string.Concat(second));
        Assert.Equal(first, second);
        Assert.NotEqual(string.Concat(first), string.Concat(other));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(120)]
    [InlineData(700)]
    public async Task ResponseTokensSetsTheNumberOfTokensStreamed(int responseTokens)
    {
        var client = Client(responseTokens);

        var tokens = await StreamAsync(client, "Tell me about tokens");

        Assert.Equal(responseTokens, tokens.Count);
        Assert.All(tokens, t => Assert.False(string.IsNullOrWhiteSpace(t)));
    }

    [Fact]
    public async Task TheAnswerIsMarkdownWithParagraphsAListAndAClosedCodeFence()
    {
        var text = string.Concat(await StreamAsync(Client(responseTokens: 120), "Explain cancellation"));

        Assert.True(ParagraphBreak().Count(text) >= 2, "The answer should have several paragraphs.");
        Assert.True(text.Split('\n').Count(l => l.StartsWith("- ", StringComparison.Ordinal)) >= 2, "The answer should have a list.");
        Assert.Contains("```csharp\n", text);
        Assert.Equal(0, CountOf(text, "```") % 2);

        var html = new MarkdownRenderer().ToHtml(text);
        Assert.True(Regex.Count(html, "<p>") >= 2);
        Assert.Contains("<ul>", html);
        Assert.Contains("<li>", html);
        Assert.Matches("<pre[^>]*><code class=\"language-csharp\">", html);
    }

    [Fact]
    public void ACodeFenceCutOffByResponseTokensIsClosed()
    {
        var answer = SimulatedChatClient.Compose("Where does the fence end?", 400);
        var opened = 0;
        for (var count = 1; count <= 400; count++)
        {
            var text = string.Concat(SimulatedChatClient.Tokenize(answer, count));
            var fences = CountOf(text, "```");
            Assert.True(fences % 2 == 0, $"With {count} tokens the answer has {fences} code fences.");
            if (fences > 0)
            {
                opened++;
            }
        }

        Assert.True(opened > 0, "Some lengths should contain a code block.");
    }

    [Fact]
    public async Task UpdatesAreAssistantUpdatesOfOneResponseFromTheSimulatedModel()
    {
        var client = Client(responseTokens: 20);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")]))
        {
            updates.Add(update);
        }

        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.All(updates, u => Assert.Equal("chatportal-simulated", u.ModelId));
        Assert.Same(SimulatedChatClient.Metadata, client.GetService<ChatClientMetadata>());
    }

    [Fact]
    public async Task TheAnswerFollowsTheLastUserMessage()
    {
        var client = Client(responseTokens: 30);
        List<ChatMessage> history =
        [
            new(ChatRole.System, "You are a test."),
            new(ChatRole.User, "First topic"),
            new(ChatRole.Assistant, "Some answer"),
            new(ChatRole.User, "Second topic"),
        ];

        var response = await client.GetResponseAsync(history);

        Assert.Equal(string.Concat(await StreamAsync(client, "Second topic")), response.Text);
        Assert.Contains("**Second topic**", response.Text);
    }

    [Fact]
    public async Task ATokenCancelledBeforeTheStartStreamsNothing()
    {
        var client = Client(responseTokens: 20);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], cancellationToken: cts.Token))
            {
                received++;
            }
        });

        Assert.Equal(0, received);
    }

    [Fact]
    public async Task CancellingTheTokenStopsTheStreamAtOnce()
    {
        var client = Client(responseTokens: 500);
        using var cts = new CancellationTokenSource();
        var received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], cancellationToken: cts.Token))
            {
                if (++received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(3, received);
    }

    [Fact]
    public async Task ACancelDuringTheFirstTokenDelayEndsTheWait()
    {
        // First token a minute away: only the cancel can end this call before the test's patience runs out.
        var client = Client(responseTokens: 5, firstTokenDelayMs: 60_000);
        using var cts = new CancellationTokenSource();
        var stream = client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], cancellationToken: cts.Token).GetAsyncEnumerator();
        var next = stream.MoveNextAsync().AsTask();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(TimeSpan.FromSeconds(30)));
        await stream.DisposeAsync();
    }

    private static SimulatedChatClient Client(int responseTokens, int firstTokenDelayMs = 0) =>
        new(new FixedOptionsMonitor(new ChatPortalOptions
        {
            Model = new ModelOptions
            {
                Simulated = new SimulatedModelOptions
                {
                    ResponseTokens = responseTokens,
                    FirstTokenDelayMs = firstTokenDelayMs,
                    TokensPerSecond = 100_000,
                },
            },
        }), TimeProvider.System);

    [Theory]
    [InlineData("How do I stop a running answer on another node?", "Stop a running answer on another node")]
    [InlineData("what is a fencing token", "A fencing token")]
    [InlineData("Redis", "Redis")]
    [InlineData("", "Chat")]
    public async Task AskedForAFewTokensItNamesTheConversation(string question, string title)
    {
        var client = Client(responseTokens: 120);

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "Write a title."), new ChatMessage(ChatRole.User, question + "\n\n---\n\nThe answer.")],
            new ChatOptions { MaxOutputTokens = 24 });

        Assert.Equal(title, response.Text.Trim());
    }

    private static async Task<List<string>> StreamAsync(IChatClient client, string question)
    {
        var tokens = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, question)]))
        {
            // The last update reports usage and carries no text.
            if (update.Contents.OfType<TextContent>().Any())
            {
                tokens.Add(update.Text);
            }
        }

        return tokens;
    }

    private static int CountOf(string text, string part) => Regex.Count(text, Regex.Escape(part));

    [GeneratedRegex(@"\S\n\n\S")]
    private static partial Regex ParagraphBreak();

    private sealed class FixedOptionsMonitor(ChatPortalOptions value) : IOptionsMonitor<ChatPortalOptions>
    {
        public ChatPortalOptions CurrentValue => value;

        public ChatPortalOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<ChatPortalOptions, string?> listener) => null;
    }
}
