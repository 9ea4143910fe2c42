using System.Globalization;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// Two nodes and one Chromium for the model, instructions, usage and quota screens. <see cref="Node"/> offers two
/// models: the simulated one (the default; it reports its usage) and <see cref="ShowcaseModel"/> over the
/// OpenAI-compatible protocol (rich answers; it reports no usage, so its counts are estimates). <see cref="QuotaNode"/>
/// has a daily token quota that one answer uses up.
/// </summary>
public sealed class ModelsFixture : IBrowserFixture, IAsyncLifetime
{
    public const string NodeId = "node-1";
    public const string QuotaNodeId = "node-2";
    public const int TokensPerDay = 50;

    private ShowcaseModel? _model;
    private NodeProcess? _node;
    private NodeProcess? _quotaNode;
    private Chromium? _chromium;

    public NodeProcess Node => _node ?? throw new InvalidOperationException("The fixture is not started.");

    public NodeProcess QuotaNode => _quotaNode ?? throw new InvalidOperationException("The fixture is not started.");

    public IBrowser Browser => _chromium?.Browser ?? throw new InvalidOperationException("The fixture is not started.");

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(10_000);
        try
        {
            _model = ShowcaseModel.Start();
            var node = NodeProcess.StartAsync(NodeId, new Dictionary<string, string>(Simulated(tokensPerSecond: 60, responseTokens: 60))
            {
                ["ChatPortal__Model__Models__0__Id"] = "simulated",
                ["ChatPortal__Model__Models__0__DisplayName"] = "Simulated",
                ["ChatPortal__Model__Models__0__Provider"] = "Simulated",
                ["ChatPortal__Model__Models__0__ContextWindow"] = "32768",
                ["ChatPortal__Model__Models__1__Id"] = "showcase",
                ["ChatPortal__Model__Models__1__DisplayName"] = "Showcase",
                ["ChatPortal__Model__Models__1__Endpoint"] = _model.Endpoint,
                ["ChatPortal__Model__Models__1__ApiKey"] = "showcase-key",
                ["ChatPortal__Model__Models__1__ContextWindow"] = "16384",
            });
            var quotaNode = NodeProcess.StartAsync(QuotaNodeId, new Dictionary<string, string>(Simulated(tokensPerSecond: 100, responseTokens: 40))
            {
                ["ChatPortal__Limits__TokensPerUserPerDay"] = TokensPerDay.ToString(CultureInfo.InvariantCulture),
            });
            var chromium = Chromium.LaunchAsync();
            await Task.WhenAll(Capture(node, n => _node = n), Capture(quotaNode, n => _quotaNode = n), Capture(chromium, c => _chromium = c));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync() => FixtureParts.DisposeAsync(_chromium, _node, _quotaNode, _model);

    private static Dictionary<string, string> Simulated(int tokensPerSecond, int responseTokens) => new()
    {
        ["ChatPortal__Model__Simulated__TokensPerSecond"] = tokensPerSecond.ToString(CultureInfo.InvariantCulture),
        ["ChatPortal__Model__Simulated__ResponseTokens"] = responseTokens.ToString(CultureInfo.InvariantCulture),
        ["ChatPortal__Limits__MessagesPerMinutePerAddress"] = "100000",
    };

    /// <summary>Keeps a node or the browser as soon as it runs, so a failure of another one still disposes it.</summary>
    private static async Task Capture<T>(Task<T> start, Action<T> keep) => keep(await start);
}

[CollectionDefinition(Name)]
public sealed class ModelsCollection : ICollectionFixture<ModelsFixture>
{
    public const string Name = "models";
}
