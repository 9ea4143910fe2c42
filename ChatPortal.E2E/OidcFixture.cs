using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>One node that offers sign-in through <see cref="Provider"/> (the test OpenID Connect provider on loopback), and one Chromium.</summary>
public sealed class OidcFixture : IBrowserFixture, IAsyncLifetime
{
    public const string DisplayName = "Test SSO";

    private OidcTestProvider? _provider;
    private NodeProcess? _node;
    private Chromium? _chromium;

    public OidcTestProvider Provider => _provider ?? throw new InvalidOperationException("The fixture is not started.");

    public NodeProcess Node => _node ?? throw new InvalidOperationException("The fixture is not started.");

    public IBrowser Browser => _chromium?.Browser ?? throw new InvalidOperationException("The fixture is not started.");

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(10_000);
        try
        {
            _provider = await OidcTestProvider.StartAsync();
            var node = NodeProcess.StartAsync("node-oidc", new Dictionary<string, string>
            {
                ["ChatPortal__Model__Simulated__TokensPerSecond"] = "100",
                ["ChatPortal__Model__Simulated__ResponseTokens"] = "40",
                ["ChatPortal__Authentication__Oidc__Authority"] = _provider.Issuer,
                ["ChatPortal__Authentication__Oidc__ClientId"] = _provider.ClientId,
                ["ChatPortal__Authentication__Oidc__ClientSecret"] = _provider.ClientSecret,
                ["ChatPortal__Authentication__Oidc__DisplayName"] = DisplayName,
                ["ChatPortal__Authentication__Oidc__RequireHttpsMetadata"] = "false",
            });
            var chromium = Chromium.LaunchAsync();
            _node = await node;
            _chromium = await chromium;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync() => FixtureParts.DisposeAsync(_chromium, _node, _provider);
}

[CollectionDefinition(Name)]
public sealed class OidcCollection : ICollectionFixture<OidcFixture>
{
    public const string Name = "oidc";
}
