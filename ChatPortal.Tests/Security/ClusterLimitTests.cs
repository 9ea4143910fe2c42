using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using ChatPortal.Testing;
using ChatPortal.Tests.Redis;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Security;

/// <summary>
/// Message limits and sign-in backoff are cluster-wide: two real nodes sharing one redis-server count together.
/// The nodes trust loopback as their balancer, so each test speaks from its own X-Forwarded-For address.
/// </summary>
public sealed class ClusterLimitTests : IClassFixture<ClusterLimitTests.LimitedCluster>
{
    private readonly LimitedCluster _fixture;

    public ClusterLimitTests(LimitedCluster fixture) => _fixture = fixture;

    private Cluster Cluster => _fixture.Cluster;

    public sealed class LimitedCluster : IAsyncLifetime
    {
        public Cluster Cluster { get; private set; } = null!;

        public async Task InitializeAsync() => Cluster = await Cluster.StartAsync(settings: new Dictionary<string, string>
        {
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = "1000",
            ["ChatPortal__Model__Simulated__ResponseTokens"] = "3",
            ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "0",
            ["ChatPortal__Limits__MessagesPerMinute"] = "3",
            ["ChatPortal__Security__TrustedProxies__0"] = "127.0.0.1",
            ["ChatPortal__Security__SignIn__FreeFailures"] = "2",
            ["ChatPortal__Security__SignIn__MaxBackoffSeconds"] = "2",
        });

        public async Task DisposeAsync() => await Cluster.DisposeAsync();
    }

    [Fact]
    public async Task NinetyFreshIdentitiesFromOneAddressAreRefusedBeyondThePerAddressLimitOnBothNodes()
    {
        var statuses = new List<(int Node, HttpStatusCode Status, TimeSpan? RetryAfter)>();
        for (var i = 0; i < 90; i++)
        {
            var node = i % 2;
            using var api = new ChatUser().On(Cluster.Nodes[node].BaseAddress);
            var id = await api.CreateConversationAsync();
            using var response = await SendFromAsync(api, id, "203.0.113.10");
            statuses.Add((node, response.StatusCode, response.Headers.RetryAfter?.Delta));
            if (response.StatusCode == HttpStatusCode.TooManyRequests && statuses.Count(s => s.Status == HttpStatusCode.TooManyRequests) == 1)
            {
                await AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "network address");
            }
        }

        Assert.All(statuses.Take(60), s => Assert.Equal(HttpStatusCode.OK, s.Status)); // Limits:MessagesPerMinutePerAddress, default 60
        Assert.All(statuses.Skip(60), s => Assert.Equal(HttpStatusCode.TooManyRequests, s.Status));
        Assert.All(statuses.Skip(60), s => Assert.InRange(s.RetryAfter!.Value.TotalSeconds, 1, 60));
        Assert.Equal([0, 1], statuses.Skip(60).Select(s => s.Node).Distinct().Order());
    }

    [Fact]
    public async Task OneUserIsLimitedAcrossBothNodes()
    {
        var user = new ChatUser();
        using var a = user.On(Cluster.A.BaseAddress);
        using var b = user.On(Cluster.B.BaseAddress);
        var id = await a.CreateConversationAsync();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await SendFromAsync(i % 2 == 0 ? a : b, id, "203.0.113.20");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                await StreamResult.ReadAsync(response); // one answer at a time in a conversation
            }
            else
            {
                await AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "3 messages");
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task GuessingTheAdminPasswordOverBasicBacksOffAcrossNodesAndTheRealPasswordWorksAfterwards()
    {
        HttpRequestMessage Overview(string password)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "api/admin/overview");
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.30");
            return request;
        }

        using var a = new HttpClient { BaseAddress = Cluster.A.BaseAddress };
        using var b = new HttpClient { BaseAddress = Cluster.B.BaseAddress };

        await AssertProblemAsync(await a.SendAsync(Overview("guess-1")), HttpStatusCode.Unauthorized, null);
        await AssertProblemAsync(await b.SendAsync(Overview("guess-2")), HttpStatusCode.Unauthorized, null); // second failure: wait 1 s
        var refusedOnA = await a.SendAsync(Overview(NodeProcess.AdminPassword));
        var refusedOnB = await b.SendAsync(Overview("guess-3"));

        await AssertProblemAsync(refusedOnA, HttpStatusCode.TooManyRequests, "sign-in");
        await AssertProblemAsync(refusedOnB, HttpStatusCode.TooManyRequests, "sign-in");
        var wait = refusedOnA.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(wait.TotalSeconds, 1, 2);
        await Task.Delay(wait + TimeSpan.FromMilliseconds(200));
        var right = await b.SendAsync(Overview(NodeProcess.AdminPassword));
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Contains("Failed admin sign-in for user name 'admin' from 203.0.113.30", Cluster.A.Log + Cluster.B.Log);
    }

    private static Task<HttpResponseMessage> SendFromAsync(ChatApiClient api, string conversationId, string address)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"api/conversations/{conversationId}/messages") { Content = JsonContent.Create(new { text = "hello" }) };
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", address);
        return api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }
}
