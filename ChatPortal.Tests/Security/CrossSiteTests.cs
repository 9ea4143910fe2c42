using System.Net;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Security;

/// <summary>Cross-site unsafe requests, identity minting and the response headers, on one node.</summary>
public sealed class CrossSiteTests : IClassFixture<CrossSiteTests.Node>
{
    private readonly Node _node;

    public CrossSiteTests(Node node) => _node = node;

    public sealed class Node : IDisposable
    {
        public ChatPortalNode Server { get; } = new("node-crosssite");

        public void Dispose() => Server.Dispose();
    }

    private string OwnOrigin => _node.Server.BaseAddress.GetLeftPart(UriPartial.Authority);

    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Origin", "https://evil.example")]
    [InlineData("Origin", "null")]
    public async Task ACrossSiteBrowserPostIsRefusedAndChangesNothing(string header, string value)
    {
        using var api = _node.Server.ClientFor(new ChatUser());
        var before = (await api.GetJsonAsync("api/conversations")).GetArrayLength();
        var request = new HttpRequestMessage(HttpMethod.Post, "api/conversations");
        request.Headers.TryAddWithoutValidation(header, value);

        var response = await api.Http.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, "Cross-site");
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Equal(before, (await api.GetJsonAsync("api/conversations")).GetArrayLength());
    }

    [Fact]
    public async Task ACrossSitePostWithoutAnIdentityGetsNoCookie()
    {
        using var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };
        var request = new HttpRequestMessage(HttpMethod.Post, "api/conversations");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");
        request.Headers.TryAddWithoutValidation("Origin", "https://evil.example");

        var response = await http.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, null);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task ASiblingSubdomainIsRefusedUnlessItsOriginIsThisSite()
    {
        using var api = _node.Server.ClientFor(new ChatUser());
        var sibling = new HttpRequestMessage(HttpMethod.Post, "api/conversations");
        sibling.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-site");
        sibling.Headers.TryAddWithoutValidation("Origin", "http://other.127.0.0.1.nip.io");
        var same = new HttpRequestMessage(HttpMethod.Post, "api/conversations");
        same.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-site");
        same.Headers.TryAddWithoutValidation("Origin", OwnOrigin);

        await AssertProblemAsync(await api.Http.SendAsync(sibling), HttpStatusCode.Forbidden, null);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.SendAsync(same)).StatusCode);
    }

    [Fact]
    public async Task ASameOriginBrowserPostAndAHeaderlessApiPostWork()
    {
        using var api = _node.Server.ClientFor(new ChatUser());
        var browser = new HttpRequestMessage(HttpMethod.Post, "api/conversations");
        browser.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        browser.Headers.TryAddWithoutValidation("Origin", OwnOrigin);

        Assert.Equal(HttpStatusCode.Created, (await api.Http.SendAsync(browser)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.Http.PostAsync("api/conversations", null)).StatusCode);
        Assert.Equal(2, (await api.GetJsonAsync("api/conversations")).GetArrayLength());
    }

    [Fact]
    public async Task AnUnsafeRequestWithoutAnIdentityMintsNoCookieAndSaysToMakeAGetFirst()
    {
        using var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };

        var response = await http.PostAsync("api/conversations", null);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "GET");
        Assert.False(response.Headers.Contains("Set-Cookie"));
        var get = await http.GetAsync("api/conversations");
        Assert.Contains(get.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatportal_id=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFormPostWithoutAnIdentityDoesNotMintOne()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _node.Server.BaseAddress };

        var response = await http.PostAsync("account/logout", new FormUrlEncodedContent([]));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("chatportal_id=", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("api/conversations")]
    [InlineData("api/conversations/unknown")]
    [InlineData("no-such-page")]
    public async Task EveryResponseCarriesTheSecurityHeaders(string path)
    {
        using var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };

        var response = await http.GetAsync(path);

        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("strict-origin-when-cross-origin", string.Join(",", response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", string.Join(",", response.Headers.GetValues("X-Frame-Options")));
        var csp = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("style-src 'self' 'unsafe-inline'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.Contains("img-src 'self' data:;", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        Assert.False(response.Headers.Contains("Strict-Transport-Security")); // plain HTTP
    }

    [Fact]
    public async Task ThePageImportMapIsAllowedByItsHashAndNothingElseInline()
    {
        using var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };

        var response = await http.GetAsync("");
        var html = await response.Content.ReadAsStringAsync();

        var importMap = System.Text.RegularExpressions.Regex.Match(html, "<script type=\"importmap\">(.*?)</script>", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(importMap.Success);
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(importMap.Groups[1].Value)));
        Assert.Contains($"script-src 'self' 'sha256-{hash}';", string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task ExternalImagesAreAnExplicitOption()
    {
        using var node = new ChatPortalNode("node-images", new Dictionary<string, string?> { ["ChatPortal:Security:AllowExternalImages"] = "true" });
        using var http = new HttpClient { BaseAddress = node.BaseAddress };

        var response = await http.GetAsync("api/conversations");

        Assert.Contains("img-src 'self' data: https:;", string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
    }
}
