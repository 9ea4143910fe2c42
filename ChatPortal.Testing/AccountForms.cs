using System.Net;
using System.Text.RegularExpressions;

namespace ChatPortal.Testing;

/// <summary>
/// The account forms as a browser posts them (antiforgery token from the page, the user's cookies, redirects not
/// followed so a test sees where each form sends the browser).
/// </summary>
public sealed partial class AccountForms(ChatUser user, Uri node) : IDisposable
{
    private readonly HttpClient _http = new(new HttpClientHandler { CookieContainer = user.Cookies, UseCookies = true, AllowAutoRedirect = false })
    {
        BaseAddress = node,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public HttpClient Http => _http;

    /// <summary>Loads <paramref name="page"/> (which also gives an anonymous browser its identity) and posts its form.</summary>
    public async Task<HttpResponseMessage> PostAsync(string page, string action, params (string Key, string Value)[] fields)
    {
        var html = await _http.GetStringAsync(page.TrimStart('/'));
        var token = Token().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException($"{page} has no antiforgery token.");
        var form = new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)).Append(new("__RequestVerificationToken", token)));
        return await _http.PostAsync(action.TrimStart('/'), form);
    }

    public Task<HttpResponseMessage> SignUpAsync(string userName, string password, string? confirm = null) =>
        PostAsync("/register", "/account/register", ("username", userName), ("password", password), ("confirm", confirm ?? password));

    public Task<HttpResponseMessage> SignInAsync(string userName, string password, string returnUrl = "/") =>
        PostAsync("/login", "/account/login", ("username", userName), ("password", password), ("returnUrl", returnUrl));

    public Task<HttpResponseMessage> ChangePasswordAsync(string current, string password) =>
        PostAsync("/account", "/account/password", ("current", current), ("password", password), ("confirm", password));

    /// <summary>The account this browser is signed in as (read from the account page), or null.</summary>
    public async Task<string?> SignedInAsAsync()
    {
        var html = await _http.GetStringAsync("account");
        return html.Contains("data-testid=\"sign-out\"", StringComparison.Ordinal) && AccountName().Match(html) is { Success: true } match
            ? WebUtility.HtmlDecode(match.Groups[1].Value)
            : null;
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex Token();

    [GeneratedRegex("name=\"username\" autocomplete=\"username\" value=\"([^\"]*)\"")]
    private static partial Regex AccountName();
}
