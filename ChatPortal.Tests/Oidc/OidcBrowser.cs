using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;

namespace ChatPortal.Tests.Oidc;

/// <summary>
/// A browser as far as sign-in needs one: a cookie jar (cookies on 127.0.0.1 are shared across ports, as a browser
/// shares them across a cluster's nodes behind one name) and redirects followed across the node and the provider.
/// </summary>
public sealed partial class OidcBrowser : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="cookies">A cookie jar to share (a <c>ChatUser</c>'s, so its API calls are this browser's); a new one when null.</param>
    public OidcBrowser(bool followRedirects = true, CookieContainer? cookies = null)
    {
        Cookies = cookies ?? new CookieContainer();
        Handler = new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = followRedirects, MaxAutomaticRedirections = 10 };
        _http = new HttpClient(Handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public CookieContainer Cookies { get; }

    private HttpClientHandler Handler { get; }

    public HttpClient Http => _http;

    /// <summary>Opens the sign-in page of <paramref name="node"/> and presses "Sign in with …"; returns where the redirects ended.</summary>
    public async Task<HttpResponseMessage> SignInAsync(Uri node, string? returnUrl = null, string provider = "OpenIdConnect")
    {
        var fields = new Dictionary<string, string> { ["provider"] = provider, ["__RequestVerificationToken"] = await AntiforgeryTokenAsync(node) };
        if (returnUrl is not null)
        {
            fields["returnUrl"] = returnUrl;
        }

        return await _http.PostAsync(new Uri(node, "account/external-login"), new FormUrlEncodedContent(fields));
    }

    /// <summary>The sign-in page's antiforgery token (and its cookie, now in the jar).</summary>
    public async Task<string> AntiforgeryTokenAsync(Uri node)
    {
        var page = await _http.GetStringAsync(new Uri(node, "login"));
        var match = TokenPattern().Match(page);
        Assert.True(match.Success, "The sign-in page has an antiforgery token.");
        return HttpUtility.HtmlDecode(match.Groups[1].Value);
    }

    public Task<string> PageAsync(Uri url) => _http.GetStringAsync(url);

    /// <summary>Makes the identity cookie (a first safe request) and a conversation; returns its id.</summary>
    public async Task<string> NewConversationAsync(Uri node)
    {
        (await _http.GetAsync(new Uri(node, "api/conversations"))).EnsureSuccessStatusCode();
        var created = await _http.PostAsync(new Uri(node, "api/conversations"), null);
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    public async Task<IReadOnlyList<string>> ConversationIdsAsync(Uri node)
    {
        var list = await _http.GetFromJsonAsync<JsonElement>(new Uri(node, "api/conversations"));
        return list.EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList();
    }

    public string? Cookie(Uri node, string name) => Cookies.GetCookies(node)[name]?.Value;

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
