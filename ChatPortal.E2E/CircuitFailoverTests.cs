using System.Net;
using System.Text.RegularExpressions;
using ChatPortal.Testing;
using Xunit.Abstractions;

namespace ChatPortal.E2E;

/// <summary>
/// A page open through the balancer while the node serving it goes away: a real <c>./cluster.sh</c> (PostgreSQL,
/// redis-server, two nodes, nginx with deploy/nginx/chatportal.conf), its own per test since a node is stopped. A
/// graceful stop moves the page to the other node without a reload; a node killed outright leaves a page that
/// reloads by itself into the same conversation and follows the answer that still runs elsewhere.
/// </summary>
public sealed partial class CircuitFailoverTests(CircuitFailoverTests.BrowserFixture fixture, ITestOutputHelper output)
    : BrowserTest<CircuitFailoverTests.BrowserFixture>(fixture), IClassFixture<CircuitFailoverTests.BrowserFixture>
{
    private const string Draft = "A draft I have not sent yet";

    private BalancedCluster? _cluster;
    private readonly System.Diagnostics.Stopwatch _scenario = new();

    private BalancedCluster Cluster => _cluster ?? throw new InvalidOperationException("No cluster started.");

    [Fact]
    public async Task AGracefullyStoppedNodeHandsItsPageToAnotherNodeWithoutAReload()
    {
        // 20 tokens/s, 100 tokens: an answer takes about 5 s, less than the stopping node's drain (10 s).
        await StartClusterAsync(responseTokens: 100);
        var chat = new ChatPage(Page, Cluster.Url);
        await chat.OpenAsync();
        var from = await ServingNodeAsync(chat);
        var to = Other(from);
        var url = Page.Url;
        await WatchThePageAsync();

        // An answer streams on the page's node, and a draft waits in the composer.
        await chat.SendAsync("What happens to my page in a rolling restart?");
        await chat.WaitForWordsAsync(6);
        await chat.ComposerInput.FillAsync(Draft);

        await Cluster.StopAsync(from);

        // The page moved: served by the other node, same document, same URL, the dialog gone.
        await Expect(chat.NodeName).ToHaveTextAsync(to, new() { Timeout = 20_000 });
        await Expect(chat.ReconnectModal).Not.ToBeVisibleAsync();
        Assert.Equal(url, Page.Url);
        var states = await Page.EvaluateAsync<string[]>("() => window.__cpStates");
        Assert.Contains("moving", states);
        Assert.DoesNotContain("rejected", states);
        Assert.DoesNotContain("failed", states);
        await ExpectNoReloadAsync();

        // What it showed came along: the question, the answer (finished by the stopping node while it drained,
        // followed from the new one), and the unsent draft.
        await Expect(chat.ComposerInput).ToHaveValueAsync(Draft);
        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 20_000 });
        await ExpectShownAsStoredAsync(chat);

        // And it works on its new node: the draft is sent and answered there.
        await chat.ComposerInput.PressAsync("Enter");
        await Expect(chat.UserMessages).ToHaveCountAsync(2);
        await Expect(chat.UserMessages.Last).ToHaveTextAsync(Draft);
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 20_000 });
        var task = await GetJsonAsync(chat, $"api/tasks/{await chat.LastAnswerTaskIdAsync()}");
        Assert.Equal(to, task.GetProperty("node").GetString());
        await ExpectShownAsStoredAsync(chat);
        await ExpectNoReloadAsync();

        // The stopped node is gone for good (its drain over), and the page never noticed.
        await Cluster.WaitForExitAsync(from, TimeSpan.FromSeconds(30));
        Assert.Contains("page(s) left for another node, 0 still connected here", Cluster.NodeLog(from));
    }

    [Fact]
    public async Task APageWhoseNodeIsKilledReloadsIntoTheSameConversationAndFollowsTheAnswerRunningElsewhere()
    {
        // 20 tokens/s, 300 tokens: the answer runs for about 15 s, through the kill and the reload.
        await StartClusterAsync(responseTokens: 300);
        var chat = new ChatPage(Page, Cluster.Url);
        await chat.OpenAsync();
        var killed = await ServingNodeAsync(chat);
        var survivor = Other(killed);
        var url = Page.Url;
        await WatchThePageAsync();

        // The answer runs on the other node (sent through its API by the same user); the page follows it.
        var taskId = await StartAnswerAsync(Cluster.NodeUrl(survivor), chat.ConversationId, "Keep writing while a node dies");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        Assert.Equal(taskId, await chat.LastAnswerTaskIdAsync());
        await chat.WaitForWordsAsync(5);
        await chat.ComposerInput.FillAsync(Draft);

        // The page's node dies at once: the browser's connection drops, nothing runs on the node's way out.
        ExpectConsoleErrors(ConnectionLost());
        await Cluster.KillAsync(killed);

        // The reconnect dialog finds no circuit anywhere (it died with the node) and reloads the same URL by itself:
        // served by the survivor, the same conversation, the answer still being written, followed to its end.
        await Expect(chat.NodeName).ToHaveTextAsync(survivor, new() { Timeout = 30_000 });
        Assert.Equal(url, Page.Url);
        Assert.Equal("reload", await Page.EvaluateAsync<string>("() => performance.getEntriesByType('navigation')[0].type"));
        Assert.Null(await Page.EvaluateAsync<string?>("() => window.__cpMarker ?? null"));
        await chat.WaitUntilReadyAsync();
        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        await Expect(chat.UserMessages.First).ToHaveTextAsync("Keep writing while a node dies");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        Assert.Equal(taskId, await chat.LastAnswerTaskIdAsync());
        await Expect(chat.StopButton).ToBeVisibleAsync();

        // The unsent draft was kept across the reload.
        await Expect(chat.ComposerInput).ToHaveValueAsync(Draft);

        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 30_000 });
        await ExpectShownAsStoredAsync(chat);
    }

    public override async Task DisposeAsync()
    {
        output.WriteLine($"Scenario (after the cluster was up): {_scenario.Elapsed.TotalSeconds:F1} s.");
        try
        {
            await base.DisposeAsync(); // closes the browser first: the cluster going down is not the page's error
        }
        finally
        {
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync();
            }
        }
    }

    private async Task StartClusterAsync(int responseTokens)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _cluster = await BalancedCluster.StartAsync(2, new Dictionary<string, string>
        {
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = "20",
            ["ChatPortal__Model__Simulated__ResponseTokens"] = responseTokens.ToString(),
        });
        output.WriteLine($"cluster.sh up 2: {clock.Elapsed.TotalSeconds:F1} s.");
        _scenario.Start();
    }

    /// <summary>The node whose circuit serves the page (the balancer pins it by the identity cookie).</summary>
    private static async Task<string> ServingNodeAsync(ChatPage chat)
    {
        await Expect(chat.NodeName).ToHaveTextAsync(NodeName());
        return (await chat.NodeName.InnerTextAsync()).Trim();
    }

    private static string Other(string node) => node == "node-1" ? "node-2" : "node-1";

    /// <summary>
    /// Marks this document (a reload would lose the mark), counts its navigations, and records the states the
    /// reconnect dialog goes through.
    /// </summary>
    private async Task WatchThePageAsync()
    {
        _navigations = 0;
        Page.FrameNavigated += (_, frame) =>
        {
            if (frame == Page.MainFrame)
            {
                Interlocked.Increment(ref _navigations);
            }
        };
        await Page.EvaluateAsync("""
            () => {
                window.__cpMarker = 'same document';
                window.__cpStates = [];
                const modal = document.getElementById('components-reconnect-modal');
                new MutationObserver(() => modal.dataset.state && window.__cpStates.push(modal.dataset.state))
                    .observe(modal, { attributes: true, attributeFilter: ['data-state'] });
            }
            """);
    }

    private int _navigations;

    private async Task ExpectNoReloadAsync()
    {
        Assert.Equal(0, Volatile.Read(ref _navigations));
        Assert.Equal("same document", await Page.EvaluateAsync<string?>("() => window.__cpMarker ?? null"));
        Assert.Equal(1, await Page.EvaluateAsync<int>("() => performance.getEntriesByType('navigation').length"));
        Assert.Equal("navigate", await Page.EvaluateAsync<string>("() => performance.getEntriesByType('navigation')[0].type"));
    }

    /// <summary>The newest answer shows exactly what is stored, and it is stored as finished.</summary>
    private static async Task ExpectShownAsStoredAsync(ChatPage chat)
    {
        var conversation = await chat.GetConversationAsync();
        var stored = conversation.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal("assistant", stored.GetProperty("role").GetString());
        Assert.Equal("completed", stored.GetProperty("status").GetString());
        Assert.Equal(ChatPage.VisibleWordsOfMarkdown(stored.GetProperty("content").GetString()!), await ShownWordsAsync(chat));
    }

    /// <summary>The words the newest answer shows, without the header of its code blocks (language, Copy).</summary>
    private static async Task<IReadOnlyList<string>> ShownWordsAsync(ChatPage chat) => ChatPage.Words(await chat.LastAnswerText.EvaluateAsync<string>("""
        answer => {
            const heads = [...answer.querySelectorAll('.cp-code-head')];
            heads.forEach(head => head.style.display = 'none');
            const text = answer.innerText;
            heads.forEach(head => head.style.display = '');
            return text;
        }
        """));

    private static async Task<System.Text.Json.JsonElement> GetJsonAsync(ChatPage chat, string path)
    {
        var response = await chat.Page.APIRequest.GetAsync(new Uri(new Uri(chat.Page.Url), "/" + path).ToString());
        Assert.True(response.Ok, $"GET {path} answered {response.Status}");
        return (await response.JsonAsync())!.Value;
    }

    /// <summary>Sends a message through one node's API as the browser's user (its identity cookie); returns the task id.</summary>
    private async Task<string> StartAnswerAsync(string nodeUrl, string conversationId, string text)
    {
        var user = new ChatUser();
        foreach (var cookie in await Page.Context.CookiesAsync([nodeUrl]))
        {
            user.Cookies.Add(new System.Net.Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        }

        using var api = user.On(nodeUrl);
        using var response = await api.SendAsync(conversationId, text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await foreach (var item in Sse.ReadAsync(await response.Content.ReadAsStreamAsync()))
        {
            if (item.Name == "task")
            {
                // Closing the stream does not cancel the answer: it goes on on that node.
                return item.Get("taskId")!;
            }
        }

        throw new InvalidOperationException("The stream ended before its task event.");
    }

    [GeneratedRegex("^node-[12]$")]
    private static partial Regex NodeName();

    /// <summary>What Blazor and the browser log when the page's connection dies with its node.</summary>
    [GeneratedRegex("WebSocket|Connection disconnected|connection (was )?(closed|lost)|Failed to fetch|ERR_CONNECTION|net::", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionLost();

    /// <summary>Chromium only: each test starts its own cluster (a node of it is stopped).</summary>
    public sealed class BrowserFixture : IBrowserFixture, IAsyncLifetime
    {
        private Chromium? _chromium;

        public IBrowser Browser => _chromium?.Browser ?? throw new InvalidOperationException("The fixture is not started.");

        public async Task InitializeAsync()
        {
            SetDefaultExpectTimeout(10_000);
            _chromium = await Chromium.LaunchAsync();
        }

        public async Task DisposeAsync()
        {
            if (_chromium is not null)
            {
                await _chromium.DisposeAsync();
            }
        }
    }
}
