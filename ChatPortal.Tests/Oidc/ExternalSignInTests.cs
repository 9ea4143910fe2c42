using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatPortal.Core.Storage;
using ChatPortal.Identity;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Oidc;

/// <summary>Sign-in through an OpenID Connect provider on one node (in the test process) and the test provider on loopback.</summary>
public sealed class ExternalSignInTests : IAsyncLifetime
{
    private OidcTestProvider _provider = null!;

    public async Task InitializeAsync() => _provider = await OidcTestProvider.StartAsync();

    public async Task DisposeAsync() => await _provider.DisposeAsync();

    public static Dictionary<string, string?> OidcSettings(OidcTestProvider provider, string? secret = null) => new()
    {
        ["ChatPortal:Authentication:Oidc:Authority"] = provider.Issuer,
        ["ChatPortal:Authentication:Oidc:ClientId"] = provider.ClientId,
        ["ChatPortal:Authentication:Oidc:ClientSecret"] = secret ?? provider.ClientSecret,
        ["ChatPortal:Authentication:Oidc:DisplayName"] = "Test SSO",
        ["ChatPortal:Authentication:Oidc:RequireHttpsMetadata"] = "false",
    };

    [Fact]
    public async Task SigningInThroughTheProviderLandsOnTheChatSignedInWithTheAnonymousConversations()
    {
        using var node = new ChatPortalNode("node-oidc", OidcSettings(_provider));
        using var browser = new OidcBrowser();
        var anonymous = await browser.NewConversationAsync(node.BaseAddress);
        var anonymousCookie = browser.Cookie(node.BaseAddress, UserIdentity.CookieName);

        var landed = await browser.SignInAsync(node.BaseAddress);

        Assert.Equal(HttpStatusCode.OK, landed.StatusCode);
        Assert.Equal(new Uri(node.BaseAddress, "/"), landed.RequestMessage!.RequestUri);
        Assert.Equal(1, _provider.TokensIssued);
        Assert.NotEqual(anonymousCookie, browser.Cookie(node.BaseAddress, UserIdentity.CookieName));
        Assert.Null(browser.Cookie(node.BaseAddress, ExternalSignIn.CookieName)); // the provider's principal is not kept
        Assert.Equal([anonymous], await browser.ConversationIdsAsync(node.BaseAddress));

        // The same person in another browser is the same user; another person is not.
        using var otherBrowser = new OidcBrowser();
        await otherBrowser.NewConversationAsync(node.BaseAddress);
        (await otherBrowser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        Assert.Equal(2, (await otherBrowser.ConversationIdsAsync(node.BaseAddress)).Count);
        Assert.Contains(anonymous, await otherBrowser.ConversationIdsAsync(node.BaseAddress));

        _provider.User = OidcTestUser.Bob;
        using var bob = new OidcBrowser();
        (await bob.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        Assert.Empty(await bob.ConversationIdsAsync(node.BaseAddress));
    }

    [Fact]
    public async Task AnAnswerRunningDuringAProviderSignInIsStoredInTheAccountsConversationAndTheAccountCanStopIt()
    {
        var settings = OidcSettings(_provider);
        settings["ChatPortal:Model:Simulated:TokensPerSecond"] = "20";
        settings["ChatPortal:Model:Simulated:ResponseTokens"] = "300";
        using var node = new ChatPortalNode("node-oidc-running", settings);
        var user = new ChatUser();
        using var api = user.On(node.BaseAddress);
        var id = await api.CreateConversationAsync();
        using var stream = await api.SendAsync(id, "a long question");
        var reading = StreamResult.ReadAsync(stream);
        await Task.Delay(300);
        using var browser = new OidcBrowser(cookies: user.Cookies);

        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        var task = (await api.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("taskId").GetString()!;
        using var cancel = await api.CancelAsync(task);

        await AssertStoppedAfterSignInAsync(api, id, cancel, reading);
        Assert.Equal([id], await browser.ConversationIdsAsync(node.BaseAddress));
    }

    [Fact]
    public async Task SwitchingFromOneProviderUserToAnotherCarriesNothingOver()
    {
        using var node = new ChatPortalNode("node-oidc-switch", OidcSettings(_provider));
        using var browser = new OidcBrowser();
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        var alices = await browser.NewConversationAsync(node.BaseAddress);

        _provider.User = OidcTestUser.Bob;
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();

        Assert.Empty(await browser.ConversationIdsAsync(node.BaseAddress));
        _provider.User = OidcTestUser.Alice;
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        Assert.Equal([alices], await browser.ConversationIdsAsync(node.BaseAddress));
    }

    [Fact]
    public async Task TheSignInPageOffersTheProviderByItsNameAndTheReturnUrlIsHonoured()
    {
        using var node = new ChatPortalNode("node-oidc-page", OidcSettings(_provider));
        using var browser = new OidcBrowser();

        var page = await browser.PageAsync(new Uri(node.BaseAddress, "login"));
        var landed = await browser.SignInAsync(node.BaseAddress, returnUrl: "/login?returned=1");
        var foreign = await browser.SignInAsync(node.BaseAddress, returnUrl: "//evil.example/");

        Assert.Contains("data-testid=\"external-login\"", page);
        Assert.Contains("Sign in with Test SSO", page);
        Assert.Equal(new Uri(node.BaseAddress, "/login?returned=1"), landed.RequestMessage!.RequestUri);
        Assert.Equal(new Uri(node.BaseAddress, "/"), foreign.RequestMessage!.RequestUri);
    }

    [Fact]
    public async Task SigningOutAfterwardsLeavesAsANewAnonymousUserWithoutTheAccountsConversations()
    {
        using var node = new ChatPortalNode("node-oidc-out", OidcSettings(_provider));
        using var browser = new OidcBrowser();
        await browser.NewConversationAsync(node.BaseAddress);
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();

        (await browser.Http.PostAsync(new Uri(node.BaseAddress, "account/logout"), null)).EnsureSuccessStatusCode();

        Assert.Empty(await browser.ConversationIdsAsync(node.BaseAddress));
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        Assert.Single(await browser.ConversationIdsAsync(node.BaseAddress));
    }

    [Fact]
    public async Task ADeclinedSignInComesBackToTheSignInPageWithAMessageAndChangesNothing()
    {
        using var node = new ChatPortalNode("node-oidc-deny", OidcSettings(_provider));
        using var browser = new OidcBrowser(followRedirects: false);
        var conversation = await browser.NewConversationAsync(node.BaseAddress);
        var cookie = browser.Cookie(node.BaseAddress, UserIdentity.CookieName);
        _provider.Interactive = true;

        // To the provider's form, and "Cancel" there.
        var challenge = await browser.SignInAsync(node.BaseAddress);
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var authorize = challenge.Headers.Location!;
        Assert.StartsWith(_provider.Issuer + "/authorize?", authorize.ToString());
        var form = System.Web.HttpUtility.ParseQueryString(authorize.Query);
        var fields = form.AllKeys.ToDictionary(k => k!, k => form[k]!);
        fields["signin"] = "deny";
        var declined = await browser.Http.PostAsync(new Uri(_provider.Issuer + "/authorize"), new FormUrlEncodedContent(fields));
        var back = await browser.Http.GetAsync(declined.Headers.Location);

        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("/login?external=failed", back.Headers.Location!.OriginalString);
        Assert.Contains("data-testid=\"external-login-error\"", await browser.PageAsync(new Uri(node.BaseAddress, "login?external=failed")));
        Assert.Equal(cookie, browser.Cookie(node.BaseAddress, UserIdentity.CookieName));
        Assert.Equal([conversation], await browser.ConversationIdsAsync(node.BaseAddress));
        Assert.Equal(0, _provider.TokensIssued);
    }

    [Fact]
    public async Task AWrongClientSecretFailsTheSignInBackToTheSignInPageNotA500()
    {
        using var node = new ChatPortalNode("node-oidc-secret", OidcSettings(_provider, secret: "wrong-secret"));
        using var browser = new OidcBrowser();
        await browser.NewConversationAsync(node.BaseAddress);
        var cookie = browser.Cookie(node.BaseAddress, UserIdentity.CookieName);

        var landed = await browser.SignInAsync(node.BaseAddress);

        Assert.Equal(HttpStatusCode.OK, landed.StatusCode);
        Assert.Equal(new Uri(node.BaseAddress, "/login?external=failed"), landed.RequestMessage!.RequestUri);
        Assert.Contains("data-testid=\"external-login-error\"", await landed.Content.ReadAsStringAsync());
        Assert.Equal(cookie, browser.Cookie(node.BaseAddress, UserIdentity.CookieName));
    }

    [Fact]
    public async Task AProviderThatCannotBeReachedSendsBackToTheSignInPageNotA500()
    {
        var gone = await OidcTestProvider.StartAsync();
        var settings = OidcSettings(gone);
        await gone.DisposeAsync();
        using var node = new ChatPortalNode("node-oidc-gone", settings);
        using var browser = new OidcBrowser();
        await browser.NewConversationAsync(node.BaseAddress);
        var cookie = browser.Cookie(node.BaseAddress, UserIdentity.CookieName);

        var landed = await browser.SignInAsync(node.BaseAddress);

        Assert.Equal(HttpStatusCode.OK, landed.StatusCode);
        Assert.Equal(new Uri(node.BaseAddress, "/login?external=failed"), landed.RequestMessage!.RequestUri);
        Assert.Equal(cookie, browser.Cookie(node.BaseAddress, UserIdentity.CookieName));
    }

    [Fact]
    public async Task ACallbackWithoutAProviderResultOrAForgedCodeSignsNobodyIn()
    {
        using var node = new ChatPortalNode("node-oidc-forged", OidcSettings(_provider));
        using var browser = new OidcBrowser(followRedirects: false);
        await browser.NewConversationAsync(node.BaseAddress);
        var cookie = browser.Cookie(node.BaseAddress, UserIdentity.CookieName);

        var callback = await browser.Http.GetAsync(new Uri(node.BaseAddress, "account/external-callback?returnUrl=%2F"));
        var forged = await browser.Http.GetAsync(new Uri(node.BaseAddress, "signin-oidc?code=made-up&state=made-up"));

        Assert.Equal("/login?external=failed", callback.Headers.Location!.OriginalString);
        Assert.Equal("/login?external=failed", forged.Headers.Location!.OriginalString);
        Assert.Equal(cookie, browser.Cookie(node.BaseAddress, UserIdentity.CookieName));
        Assert.Equal(0, _provider.TokensIssued);
    }

    [Fact]
    public async Task AnUnknownProviderIsA400ProblemAndWithoutConfigurationThereIsNoButton()
    {
        using var configured = new ChatPortalNode("node-oidc-unknown", OidcSettings(_provider));
        using var plain = new ChatPortalNode("node-plain");
        using var browser = new OidcBrowser(followRedirects: false);

        var unknown = await browser.SignInAsync(configured.BaseAddress, provider: "Elsewhere");
        var cookieScheme = await browser.SignInAsync(configured.BaseAddress, provider: ExternalSignIn.CookieScheme);
        var notConfigured = await browser.SignInAsync(plain.BaseAddress);

        foreach (var response in new[] { unknown, cookieScheme, notConfigured })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("sign-in provider", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }

        Assert.DoesNotContain("external-login", await browser.PageAsync(new Uri(plain.BaseAddress, "login")));
    }

    [Fact]
    public async Task TheContentSecurityPolicyLetsFormsLeadToTheProviderOnlyWhenOneIsConfigured()
    {
        using var configured = new ChatPortalNode("node-oidc-csp", OidcSettings(_provider));
        using var plain = new ChatPortalNode("node-plain-csp");
        using var http = new HttpClient();

        var withProvider = (await http.GetAsync(new Uri(configured.BaseAddress, "login"))).Headers.GetValues("Content-Security-Policy").Single();
        var without = (await http.GetAsync(new Uri(plain.BaseAddress, "login"))).Headers.GetValues("Content-Security-Policy").Single();

        Assert.Contains($"form-action 'self' {_provider.Issuer};", withProvider);
        Assert.Contains("form-action 'self';", without);
    }

    [Theory]
    [InlineData("ChatPortal:Authentication:Oidc:Authority", "not a url")]
    [InlineData("ChatPortal:Authentication:Oidc:Authority", "http://idp.example")]
    [InlineData("ChatPortal:Authentication:Oidc:ClientId", "")]
    [InlineData("ChatPortal:Authentication:Oidc:DisplayName", "")]
    public void AnInvalidProviderSettingStopsTheNodeNamingTheKey(string key, string value)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ChatPortal:Authentication:Oidc:Authority"] = "https://idp.example",
            ["ChatPortal:Authentication:Oidc:ClientId"] = "chatportal",
            [key] = value,
        };
        using var node = new ChatPortalNode("node-oidc-invalid", settings);

        var error = Assert.ThrowsAny<Exception>(() => node.StartServer());

        Assert.Contains(key, Flatten(error));
    }

    [Fact]
    public void AClientIdWithoutAnAuthorityStopsTheNodeNamingTheAuthority()
    {
        using var node = new ChatPortalNode("node-oidc-half", new Dictionary<string, string?> { ["ChatPortal:Authentication:Oidc:ClientId"] = "chatportal" });

        var error = Assert.ThrowsAny<Exception>(() => node.StartServer());

        Assert.Contains("ChatPortal:Authentication:Oidc:Authority", Flatten(error));
    }

    [Fact]
    public async Task AFirstSignInMakesAnAccountTheAdminListsAndCanMakeAdminAndTheSamePersonIsThatAccountAgain()
    {
        var settings = OidcSettings(_provider);
        settings["ChatPortal:Accounts:SessionRevalidationSeconds"] = "1";
        using var node = new ChatPortalNode("node-oidc-account", settings);
        using var browser = new OidcBrowser();
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        var conversation = await browser.NewConversationAsync(node.BaseAddress);

        var account = Assert.Single(await AccountsAsync(node));
        Assert.Equal("alice@example.test", account.GetProperty("userName").GetString());
        Assert.False(account.GetProperty("isAdmin").GetBoolean());
        var id = account.GetProperty("id").GetString()!;
        Assert.Equal(id, await SignedInUserIdAsync(node, "alice@example.test"));
        Assert.Equal("/login", (await browser.Http.GetAsync(new Uri(node.BaseAddress, "admin"))).RequestMessage!.RequestUri!.AbsolutePath);

        // The same person again, in another browser: the same account, no second one.
        using var again = new OidcBrowser();
        (await again.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();
        Assert.Equal([conversation], await again.ConversationIdsAsync(node.BaseAddress));
        Assert.Equal([id], (await AccountsAsync(node)).Select(a => a.GetProperty("id").GetString()));

        // An admin grants the role; the session picks it up at its next check, like any account's.
        using var admin = AdminClient(node);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/admin/users/{id}/admin", null)).StatusCode);
        Assert.True(Assert.Single(await AccountsAsync(node)).GetProperty("isAdmin").GetBoolean());
        await Task.Delay(1500);
        Assert.Equal(new Uri(node.BaseAddress, "/admin"), (await browser.Http.GetAsync(new Uri(node.BaseAddress, "admin"))).RequestMessage!.RequestUri);

        // Revoking it changes the security stamp: the provider's sessions end too.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/admin/users/{id}/admin")).StatusCode);
        await Task.Delay(1500);
        Assert.Empty(await browser.ConversationIdsAsync(node.BaseAddress));
        Assert.Empty(await again.ConversationIdsAsync(node.BaseAddress));
    }

    [Fact]
    public async Task AProviderAccountNeverJoinsAPasswordAccountOfTheSameNameHasNoPasswordToChangeAndCannotSignInWithOne()
    {
        using var node = new ChatPortalNode("node-oidc-names", OidcSettings(_provider));
        var holder = new ChatUser();
        using var forms = new AccountForms(holder, node.BaseAddress);
        Assert.Equal(HttpStatusCode.Redirect, (await forms.SignUpAsync("alice@example.test", "correct horse battery")).StatusCode);
        using (var api = holder.On(node.BaseAddress))
        {
            await api.CreateConversationAsync();
        }

        using var browser = new OidcBrowser();
        (await browser.SignInAsync(node.BaseAddress)).EnsureSuccessStatusCode();

        Assert.Empty(await browser.ConversationIdsAsync(node.BaseAddress));
        var page = await browser.PageAsync(new Uri(node.BaseAddress, "account"));
        Assert.Contains("data-testid=\"external-account\"", page);
        Assert.Contains("You sign in with Test SSO.", page);
        Assert.DoesNotContain("data-testid=\"password-current\"", page);
        Assert.Equal(["alice@example.test", "alice@example.test-2"], (await AccountsAsync(node)).Select(a => a.GetProperty("userName").GetString()).Order());
        using var guess = new AccountForms(new ChatUser(), node.BaseAddress);
        var refused = await guess.SignInAsync("alice@example.test-2", "");
        Assert.Contains("error=1", refused.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task WithAnonymousUseOffTheProviderSignInIsOpenAndLeadsIn()
    {
        var settings = OidcSettings(_provider);
        settings["ChatPortal:Accounts:AllowAnonymous"] = "false";
        using var node = new ChatPortalNode("node-oidc-closed", settings);
        using var browser = new OidcBrowser();

        Assert.Contains("data-testid=\"external-login\"", await browser.PageAsync(new Uri(node.BaseAddress, "register")));
        var landed = await browser.SignInAsync(node.BaseAddress, returnUrl: "/");

        Assert.Equal(new Uri(node.BaseAddress, "/"), landed.RequestMessage!.RequestUri);
        var created = await browser.Http.PostAsync(new Uri(node.BaseAddress, "api/conversations"), null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Single(await browser.ConversationIdsAsync(node.BaseAddress));
    }

    [Theory]
    [InlineData("alice@example.test", "Alice Tester", "alice@example.test")]
    [InlineData(null, "Alice  Tester", "Alice..Tester")]
    [InlineData("", "Ünïcode Nàme", "ncode.Nme")]
    [InlineData(null, "山田", "user")]
    [InlineData(null, null, "user")]
    public void ANewAccountsUserNameComesFromTheEmailOrNameInTheCharactersIdentityAllows(string? email, string? name, string expected) =>
        Assert.Equal(expected, ExternalSignIn.UserNameStem(email, name));

    [Fact]
    public void ANewAccountsUserNameIsAtMost64Characters() =>
        Assert.Equal(64, ExternalSignIn.UserNameStem(new string('a', 100) + "@example.test", null).Length);

    private static async Task<List<JsonElement>> AccountsAsync(ChatPortalNode node)
    {
        using var admin = AdminClient(node);
        return [.. (await admin.GetFromJsonAsync<JsonElement>("api/admin/users")).EnumerateArray().Where(a => a.GetProperty("userName").GetString() != "admin")];
    }

    private static async Task<string?> SignedInUserIdAsync(ChatPortalNode node, string userName)
    {
        using var scope = node.Services.CreateScope();
        return (await scope.ServiceProvider.GetRequiredService<UserManager<UserRecord>>().FindByNameAsync(userName))?.Id;
    }

    private static HttpClient AdminClient(ChatPortalNode node)
    {
        var http = new HttpClient { BaseAddress = node.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{NodeProcess.AdminPassword}")));
        return http;
    }

    private static string Flatten(Exception error) =>
        error is AggregateException aggregate
            ? string.Join('\n', aggregate.Flatten().InnerExceptions.Select(e => e.Message))
            : error.Message + (error.InnerException is null ? "" : "\n" + Flatten(error.InnerException));
}
