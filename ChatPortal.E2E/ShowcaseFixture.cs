using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>One node that answers through <see cref="ShowcaseModel"/> (tables, highlighted code), and one Chromium.</summary>
public sealed class ShowcaseFixture : IBrowserFixture, IAsyncLifetime
{
    public const string NodeId = "node-1";

    private ShowcaseModel? _model;
    private NodeProcess? _node;
    private Chromium? _chromium;

    public NodeProcess Node => _node ?? throw new InvalidOperationException("The fixture is not started.");

    public IBrowser Browser => _chromium?.Browser ?? throw new InvalidOperationException("The fixture is not started.");

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(10_000);
        try
        {
            _model = ShowcaseModel.Start();
            var node = NodeProcess.StartAsync(NodeId, _model.NodeSettings());
            var chromium = Chromium.LaunchAsync();
            await Task.WhenAll(Capture(node, n => _node = n), Capture(chromium, c => _chromium = c));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Keeps the node or the browser as soon as it runs, so a failure of the other one still disposes it.</summary>
    private static async Task Capture<T>(Task<T> start, Action<T> keep) => keep(await start);

    public Task DisposeAsync() => FixtureParts.DisposeAsync(_chromium, _node, _model);
}

[CollectionDefinition(Name)]
public sealed class ShowcaseCollection : ICollectionFixture<ShowcaseFixture>
{
    public const string Name = "showcase";
}
