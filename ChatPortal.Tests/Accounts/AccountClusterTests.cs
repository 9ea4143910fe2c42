using System.Net;
using ChatPortal.Testing;
using ChatPortal.Tests.Redis;

namespace ChatPortal.Tests.Accounts;

/// <summary>
/// Accounts on a real cluster: two node processes on one PostgreSQL and one redis-server. A session made on one node
/// is good on the other (shared Data Protection keys, accounts in the database), and the lockout counts wrong
/// passwords from both nodes together (it is in the database).
/// </summary>
public sealed class AccountClusterTests : IClassFixture<AccountClusterTests.AccountCluster>
{
    private readonly AccountCluster _fixture;

    public AccountClusterTests(AccountCluster fixture) => _fixture = fixture;

    private Cluster Cluster => _fixture.Cluster;

    public sealed class AccountCluster : IAsyncLifetime
    {
        public Cluster Cluster { get; private set; } = null!;

        public async Task InitializeAsync() => Cluster = await Cluster.StartAsync(settings: new Dictionary<string, string>
        {
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = "1000",
            ["ChatPortal__Model__Simulated__ResponseTokens"] = "3",
            ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
            ["ChatPortal__Accounts__LockoutFailures"] = "3",
            ["ChatPortal__Accounts__SessionRevalidationSeconds"] = "1",

            // Every client here is 127.0.0.1: the lockout test's wrong passwords must not leave the address throttled
            // for the other test (its sign-in would be a 429, whichever test runs first). Lockout is what is tested.
            ["ChatPortal__Security__SignIn__FreeFailures"] = "100",
        });

        public async Task DisposeAsync() => await Cluster.DisposeAsync();
    }

    private const string Password = "correct horse battery";

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task ASessionMadeOnNodeAWorksOnNodeB()
    {
        var user = new ChatUser();
        using var apiA = user.On(Cluster.A.BaseAddress);
        var conversation = await apiA.CreateConversationAsync();
        using var formsA = new AccountForms(user, Cluster.A.BaseAddress);
        var name = NewName("cross");
        Assert.Equal(HttpStatusCode.Redirect, (await formsA.SignUpAsync(name, Password)).StatusCode);
        var other = new ChatUser();
        using (var otherForms = new AccountForms(other, Cluster.B.BaseAddress))
        {
            Assert.Equal(HttpStatusCode.Redirect, (await otherForms.SignInAsync(name, Password)).StatusCode); // signed in on B
        }

        using var formsB = new AccountForms(user, Cluster.B.BaseAddress);
        using var apiB = user.On(Cluster.B.BaseAddress);
        await Task.Delay(1500); // past a revalidation: B checks the session against the account too

        Assert.Equal(name, await formsB.SignedInAsAsync());
        Assert.Equal(conversation, (await apiB.GetJsonAsync("api/conversations"))[0].GetProperty("id").GetString());
        using var otherApi = other.On(Cluster.A.BaseAddress);
        Assert.Equal(conversation, (await otherApi.GetJsonAsync("api/conversations"))[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task WrongPasswordsOnBothNodesLockTheAccountOnBoth()
    {
        var name = NewName("lock");
        using (var owner = new AccountForms(new ChatUser(), Cluster.A.BaseAddress))
        {
            await owner.SignUpAsync(name, Password);
        }

        var attacker = new ChatUser();
        var locations = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var forms = new AccountForms(attacker, Cluster.Nodes[i % 2].BaseAddress);
            locations.Add((await forms.SignInAsync(name, $"guess {i}")).Headers.Location!.OriginalString);
        }

        using var onB = new AccountForms(new ChatUser(), Cluster.B.BaseAddress);
        using var onA = new AccountForms(new ChatUser(), Cluster.A.BaseAddress);
        var rightOnB = await onB.SignInAsync(name, Password);
        var rightOnA = await onA.SignInAsync(name, Password);

        Assert.StartsWith("/login?error=1", locations[0]);
        Assert.StartsWith("/login?error=1", locations[1]);
        Assert.StartsWith("/login?error=locked", locations[2]); // the third wrong password, counted across both nodes
        Assert.StartsWith("/login?error=locked", rightOnB.Headers.Location!.OriginalString);
        Assert.StartsWith("/login?error=locked", rightOnA.Headers.Location!.OriginalString);
        Assert.Null(await onB.SignedInAsAsync());
    }
}
