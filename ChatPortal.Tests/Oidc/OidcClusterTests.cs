using System.Net;
using ChatPortal.Identity;
using ChatPortal.Testing;
using ChatPortal.Tests.Redis;

namespace ChatPortal.Tests.Oidc;

/// <summary>
/// Sign-in through the test provider on a real two-node cluster (node processes, PostgreSQL, redis-server): a session
/// made on one node is valid on the other, and a sign-in one node starts another can finish, as behind a balancer.
/// </summary>
public sealed class OidcClusterTests : IAsyncLifetime
{
    private OidcTestProvider _provider = null!;
    private Cluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _provider = await OidcTestProvider.StartAsync();
        var settings = new Dictionary<string, string>(Cluster.SlowModel);
        foreach (var (key, value) in ExternalSignInTests.OidcSettings(_provider))
        {
            settings[key.Replace(":", "__")] = value!;
        }

        _cluster = await Cluster.StartAsync(nodes: 2, settings);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task SignedInThroughNodeAIsSignedInOnNodeBWithTheAnonymousConversations()
    {
        var (a, b) = (_cluster.A.BaseAddress, _cluster.B.BaseAddress);
        using var browser = new OidcBrowser();
        var anonymous = await browser.NewConversationAsync(a);

        var landed = await browser.SignInAsync(a);

        Assert.Equal(HttpStatusCode.OK, landed.StatusCode);
        Assert.Equal(new Uri(a, "/"), landed.RequestMessage!.RequestUri);
        Assert.Equal([anonymous], await browser.ConversationIdsAsync(b));
        var madeOnB = await browser.NewConversationAsync(b);
        Assert.Equal([madeOnB, anonymous], await browser.ConversationIdsAsync(a));
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync(new Uri(b, $"c/{anonymous}"))).StatusCode);

        // The same person signing in through node B in another browser is the same user there.
        using var elsewhere = new OidcBrowser();
        (await elsewhere.SignInAsync(b)).EnsureSuccessStatusCode();
        Assert.Equal([madeOnB, anonymous], await elsewhere.ConversationIdsAsync(b));
        Assert.Equal(2, _provider.TokensIssued);
    }

    [Fact]
    public async Task ASignInStartedOnNodeAIsFinishedByNodeB()
    {
        var (a, b) = (_cluster.A.BaseAddress, _cluster.B.BaseAddress);
        using var browser = new OidcBrowser(followRedirects: false);
        var anonymous = await browser.NewConversationAsync(a);

        var toProvider = await browser.SignInAsync(a);
        Assert.Equal(HttpStatusCode.Redirect, toProvider.StatusCode);
        var back = await browser.Http.GetAsync(toProvider.Headers.Location);
        Assert.Equal(HttpStatusCode.Found, back.StatusCode);
        var callback = back.Headers.Location!;
        Assert.Equal(a.Port, callback.Port);

        // The balancer sends the provider's way back to the other node.
        var onB = await browser.Http.GetAsync(new UriBuilder(callback) { Port = b.Port }.Uri);
        Assert.Equal(HttpStatusCode.Redirect, onB.StatusCode);
        Assert.StartsWith("/account/external-callback", onB.Headers.Location!.OriginalString);
        var signedIn = await browser.Http.GetAsync(new Uri(b, onB.Headers.Location.OriginalString));

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location!.OriginalString);
        Assert.Null(browser.Cookie(b, ExternalSignIn.CookieName));
        Assert.Equal([anonymous], await browser.ConversationIdsAsync(a));

        // Alice again, from a fresh browser: the same user, so the conversation is hers for good.
        using var again = new OidcBrowser();
        (await again.SignInAsync(b)).EnsureSuccessStatusCode();
        Assert.Equal([anonymous], await again.ConversationIdsAsync(a));
    }
}
