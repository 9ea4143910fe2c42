using System.Net;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Security;

/// <summary>X-Forwarded-* count only from the balancers in <c>ChatPortal:Security:TrustedProxies</c>.</summary>
public sealed class ForwardedHeadersTests
{
    private static Dictionary<string, string?> Settings(bool trustLoopback)
    {
        var settings = new Dictionary<string, string?> { ["ChatPortal:Limits:MessagesPerMinutePerAddress"] = "2" };
        if (trustLoopback)
        {
            settings["ChatPortal:Security:TrustedProxies:0"] = "127.0.0.0/8";
        }

        return settings;
    }

    private static HttpRequestMessage ViaBalancer(HttpMethod method, string path, string clientAddress)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", clientAddress);
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "chat.example");
        return request;
    }

    [Fact]
    public async Task FromATrustedProxyTheSchemeHostAndClientAddressAreTheBrowsers()
    {
        using var node = new ChatPortalNode("node-trusting", Settings(trustLoopback: true));
        using var http = new HttpClient { BaseAddress = node.BaseAddress };

        var page = await http.SendAsync(ViaBalancer(HttpMethod.Get, "api/conversations", "203.0.113.9"));

        var cookie = Assert.Single(page.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatportal_id=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.True(page.Headers.Contains("Strict-Transport-Security"));

        // The browser's origin is the balancer's https://chat.example, not the node's own address.
        using var api = node.ClientFor(new ChatUser());
        var ownSite = ViaBalancer(HttpMethod.Post, "api/conversations", "203.0.113.9");
        ownSite.Headers.TryAddWithoutValidation("Origin", "https://chat.example");
        var nodeAddress = ViaBalancer(HttpMethod.Post, "api/conversations", "203.0.113.9");
        nodeAddress.Headers.TryAddWithoutValidation("Origin", node.BaseAddress.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.Created, (await api.Http.SendAsync(ownSite)).StatusCode);
        await AssertProblemAsync(await api.Http.SendAsync(nodeAddress), HttpStatusCode.Forbidden, null);

        // Three clients behind the balancer are three addresses: none reaches the per-address limit of 2.
        var statuses = await SendFromAsync(node, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task FromAnyoneElseForwardedHeadersAreIgnored()
    {
        using var node = new ChatPortalNode("node-distrusting", Settings(trustLoopback: false));
        using var http = new HttpClient { BaseAddress = node.BaseAddress };

        var page = await http.SendAsync(ViaBalancer(HttpMethod.Get, "api/conversations", "203.0.113.9"));

        var cookie = Assert.Single(page.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatportal_id=", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.False(page.Headers.Contains("Strict-Transport-Security"));

        // A client that claims three addresses is still one: the third message is over the per-address limit.
        var statuses = await SendFromAsync(node, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    /// <summary>One fresh user per claimed address, one message each.</summary>
    private static async Task<List<HttpStatusCode>> SendFromAsync(ChatPortalNode node, string[] addresses)
    {
        var statuses = new List<HttpStatusCode>();
        foreach (var address in addresses)
        {
            using var api = node.ClientFor(new ChatUser());
            var id = await api.CreateConversationAsync();
            var request = new HttpRequestMessage(HttpMethod.Post, $"api/conversations/{id}/messages") { Content = System.Net.Http.Json.JsonContent.Create(new { text = "hello" }) };
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", address);
            using var response = await api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }
}
