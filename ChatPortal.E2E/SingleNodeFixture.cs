using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// Single-node deployments (in-memory state, simulated model) as real processes, and one Chromium.
/// <see cref="Node"/> writes slowly so streaming and Stop can be watched; <see cref="FastNode"/> finishes
/// answers in about two seconds for tests that need completed answers.
/// </summary>
public sealed class SingleNodeFixture : IBrowserFixture, IAsyncLifetime
{
    public const string NodeId = "node-1";
    public const string FastNodeId = "node-2";

    private NodeProcess? _node;
    private NodeProcess? _fastNode;
    private Chromium? _chromium;

    /// <summary>15 tokens/s, 400 tokens: an answer streams for about 27 s.</summary>
    public NodeProcess Node => _node ?? throw new InvalidOperationException("The fixture is not started.");

    /// <summary>
    /// 60 tokens/s, 140 tokens: an answer completes in about 2.5 s, slow enough to stop one mid-way and to
    /// catch it streaming. (140 tokens is where the first section of the screenshot question's answer ends.)
    /// </summary>
    public NodeProcess FastNode => _fastNode ?? throw new InvalidOperationException("The fixture is not started.");

    public IBrowser Browser => _chromium?.Browser ?? throw new InvalidOperationException("The fixture is not started.");

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(10_000);
        try
        {
            var node = NodeProcess.StartAsync(NodeId, InMemory(tokensPerSecond: 15, responseTokens: 400));
            var fastNode = NodeProcess.StartAsync(FastNodeId, InMemory(tokensPerSecond: 60, responseTokens: 140));
            var chromium = Chromium.LaunchAsync();
            await Task.WhenAll(Capture(node, n => _node = n), Capture(fastNode, n => _fastNode = n), Capture(chromium, c => _chromium = c));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync() => FixtureParts.DisposeAsync(_chromium, _node, _fastNode);

    private static Dictionary<string, string> InMemory(int tokensPerSecond, int responseTokens) => new()
    {
        ["ChatPortal__Model__Provider"] = "Simulated",
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = tokensPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ChatPortal__Model__Simulated__ResponseTokens"] = responseTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),

        // Every browser of the suite comes from 127.0.0.1: the per-address limit (tested in ChatPortal.Tests) is lifted.
        ["ChatPortal__Limits__MessagesPerMinutePerAddress"] = "100000",
    };

    /// <summary>Keeps a node or the browser as soon as it runs, so a failure of another one still disposes it.</summary>
    private static async Task Capture<T>(Task<T> start, Action<T> keep) => keep(await start);
}

[CollectionDefinition(Name)]
public sealed class SingleNodeCollection : ICollectionFixture<SingleNodeFixture>
{
    public const string Name = "single-node";
}
