using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatPortal.Accounts;
using ChatPortal.Core.Storage;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Accounts;

/// <summary>
/// Accounts on one node (the embedded SQLite default): sign-up and sign-in keep an anonymous user's conversations,
/// the admin grants and revokes the admin role and issues one-time reset links, a password change ends the other
/// sessions (cookie and circuit), and a node without anonymous use asks for an account.
/// </summary>
public sealed class AccountTests : IClassFixture<AccountTests.Node>
{
    private readonly Node _fixture;

    public AccountTests(Node fixture) => _fixture = fixture;

    private ChatPortalNode N => _fixture.Instance;

    public sealed class Node : IDisposable
    {
        public ChatPortalNode Instance { get; } = new("node-accounts", new Dictionary<string, string?>
        {
            ["ChatPortal:Accounts:SessionRevalidationSeconds"] = "1",
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "20",
            ["ChatPortal:Model:Simulated:ResponseTokens"] = "300",
        });

        public void Dispose() => Instance.Dispose();
    }

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private const string Password = "correct horse battery";

    [Fact]
    public async Task AnAnonymousUserWhoSignsUpKeepsTheirConversations()
    {
        var user = new ChatUser();
        using var api = user.On(N.BaseAddress);
        var first = await api.CreateConversationAsync();
        var second = await api.CreateConversationAsync();
        using var forms = new AccountForms(user, N.BaseAddress);
        var name = NewName("signup");

        var response = await forms.SignUpAsync(name, Password);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        Assert.Equal(name, await forms.SignedInAsAsync());
        var ids = (await api.GetJsonAsync("api/conversations")).EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
        Assert.Equal(new[] { first, second }.Order(), ids.Order());
    }

    [Fact]
    public async Task AnAnonymousUserWhoSignsInKeepsTheirConversationsBesideTheAccounts()
    {
        var name = NewName("signin");
        var owner = new ChatUser();
        using var ownerApi = owner.On(N.BaseAddress);
        var accountConversation = await ownerApi.CreateConversationAsync();
        using (var ownerForms = new AccountForms(owner, N.BaseAddress))
        {
            Assert.Equal(HttpStatusCode.Redirect, (await ownerForms.SignUpAsync(name, Password)).StatusCode);
        }

        var elsewhere = new ChatUser();
        using var api = elsewhere.On(N.BaseAddress);
        var anonymousConversation = await api.CreateConversationAsync();
        using var forms = new AccountForms(elsewhere, N.BaseAddress);

        var response = await forms.SignInAsync(name, Password, "/c/" + anonymousConversation);

        Assert.Equal("/c/" + anonymousConversation, response.Headers.Location!.OriginalString);
        var ids = (await api.GetJsonAsync("api/conversations")).EnumerateArray().Select(c => c.GetProperty("id").GetString()!).Order().ToList();
        Assert.Equal(new[] { accountConversation, anonymousConversation }.Order(), ids);
        Assert.Equal(2, (await ownerApi.GetJsonAsync("api/conversations")).GetArrayLength()); // the same account in the first browser
    }

    [Fact]
    public async Task AnAnswerRunningDuringSignInIsStoredInTheAccountsConversationAndTheAccountCanStopIt()
    {
        var name = NewName("running");
        using (var creator = new AccountForms(new ChatUser(), N.BaseAddress))
        {
            await creator.SignUpAsync(name, Password);
        }

        var user = new ChatUser();
        using var api = user.On(N.BaseAddress);
        var id = await api.CreateConversationAsync();
        using var stream = await api.SendAsync(id, "a long question");
        var reading = StreamResult.ReadAsync(stream);
        await Task.Delay(300);
        using var forms = new AccountForms(user, N.BaseAddress);
        await forms.SignInAsync(name, Password);
        var task = (await api.GetConversationAsync(id)).GetProperty("activeTask").GetProperty("taskId").GetString()!;

        using var cancel = await api.CancelAsync(task);

        await AssertStoppedAfterSignInAsync(api, id, cancel, reading);
    }

    [Theory]
    [InlineData("mismatch", "correct horse battery", "another password!")]
    [InlineData("password", "short", "short")]
    [InlineData("name", "", "")]
    public async Task ASignUpThatCannotBeAcceptedStoresNothing(string error, string password, string confirm)
    {
        var name = error == "name" ? "no spaces allowed" : NewName("bad");
        using var forms = new AccountForms(new ChatUser(), N.BaseAddress);

        var response = await forms.SignUpAsync(name, error == "name" ? Password : password, error == "name" ? Password : confirm);

        Assert.StartsWith($"/register?error={error}", response.Headers.Location!.OriginalString);
        Assert.Null(await forms.SignedInAsAsync());
        Assert.DoesNotContain(await ListAccountsAsync(), a => a.GetProperty("userName").GetString() == name);
    }

    [Fact]
    public async Task ATakenNameIsRefused()
    {
        var name = NewName("taken");
        using var first = new AccountForms(new ChatUser(), N.BaseAddress);
        await first.SignUpAsync(name, Password);
        using var second = new AccountForms(new ChatUser(), N.BaseAddress);

        var response = await second.SignUpAsync(name.ToUpperInvariant(), Password);

        Assert.StartsWith("/register?error=taken", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task AnAdminGrantsAndRevokesTheAdminRole()
    {
        var name = NewName("grant");
        using var forms = new AccountForms(new ChatUser(), N.BaseAddress);
        await forms.SignUpAsync(name, Password);
        var id = (await ListAccountsAsync()).Single(a => a.GetProperty("userName").GetString() == name).GetProperty("id").GetString()!;
        using var admin = AdminClient();
        using var asUser = BasicClient(name, Password);

        Assert.Equal(HttpStatusCode.Unauthorized, (await asUser.GetAsync("api/admin/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await forms.Http.GetAsync("admin")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/admin/users/{id}/admin", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await asUser.GetAsync("api/admin/tasks")).StatusCode);
        Assert.True((await ListAccountsAsync()).Single(a => a.GetProperty("id").GetString() == id).GetProperty("isAdmin").GetBoolean());
        await Task.Delay(1500); // the session picks the role up at its next check
        Assert.Equal(HttpStatusCode.OK, (await forms.Http.GetAsync("admin")).StatusCode);
        Assert.Equal(name, await forms.SignedInAsAsync()); // granting kept the session

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/admin/users/{id}/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await asUser.GetAsync("api/admin/tasks")).StatusCode);
        await Task.Delay(1500);
        Assert.Equal(HttpStatusCode.Redirect, (await forms.Http.GetAsync("admin")).StatusCode);
        Assert.Null(await forms.SignedInAsAsync()); // revoking ended the session
    }

    [Fact]
    public async Task AnAdminCannotRevokeTheirOwnRoleAndUnknownAccountsAreNotFound()
    {
        using var admin = AdminClient();
        var me = (await ListAccountsAsync()).Single(a => a.GetProperty("userName").GetString() == "admin").GetProperty("id").GetString()!;

        await AssertProblemAsync(await admin.DeleteAsync($"api/admin/users/{me}/admin"), HttpStatusCode.Conflict, "own admin role");
        await AssertProblemAsync(await admin.PutAsync("api/admin/users/nobody/admin", null), HttpStatusCode.NotFound, "account");
        await AssertProblemAsync(await admin.PostAsync("api/admin/users/nobody/reset-link", null), HttpStatusCode.NotFound, "account");
    }

    [Fact]
    public async Task APasswordChangeEndsTheAccountsOtherSessionsButNotThisOne()
    {
        var name = NewName("change");
        using var here = new AccountForms(new ChatUser(), N.BaseAddress);
        await here.SignUpAsync(name, Password);
        using var there = new AccountForms(new ChatUser(), N.BaseAddress);
        await there.SignInAsync(name, Password);
        Assert.Equal(name, await there.SignedInAsAsync());
        var circuit = await PrincipalOfAsync(name);
        var revalidation = N.Services.GetRequiredService<IServiceScopeFactory>().CreateScope().ServiceProvider.GetRequiredService<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider>();
        var revalidating = Assert.IsType<AccountRevalidatingAuthenticationStateProvider>(revalidation);
        Assert.True(await revalidating.IsStillValidAsync(circuit));

        var response = await here.ChangePasswordAsync(Password, "a brand new passphrase");

        Assert.Equal("/account?changed=1", response.Headers.Location!.OriginalString);
        Assert.False(await revalidating.IsStillValidAsync(circuit)); // an open page's circuit ends at its next check
        await Task.Delay(1500);
        Assert.Null(await there.SignedInAsAsync());
        Assert.Equal(name, await here.SignedInAsAsync());
        Assert.StartsWith("/login?error=1", (await there.SignInAsync(name, Password)).Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await there.SignInAsync(name, "a brand new passphrase")).StatusCode);
        Assert.Equal(name, await there.SignedInAsAsync());
    }

    [Fact]
    public async Task AnAdminsResetLinkSetsANewPasswordOnce()
    {
        var name = NewName("reset");
        using var forms = new AccountForms(new ChatUser(), N.BaseAddress);
        await forms.SignUpAsync(name, Password);
        var id = (await ListAccountsAsync()).Single(a => a.GetProperty("userName").GetString() == name).GetProperty("id").GetString()!;
        using var admin = AdminClient();
        var link = await (await admin.PostAsync($"api/admin/users/{id}/reset-link", null)).Content.ReadFromJsonAsync<JsonElement>();
        var url = new Uri(link.GetProperty("url").GetString()!);
        Assert.True(link.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23));
        var query = System.Web.HttpUtility.ParseQueryString(url.Query);
        using var stranger = new AccountForms(new ChatUser(), N.BaseAddress);

        var first = await stranger.PostAsync(url.PathAndQuery, "/account/reset", ("user", query["user"]!), ("token", query["token"]!), ("password", "reset passphrase 1"), ("confirm", "reset passphrase 1"));
        var again = await stranger.PostAsync(url.PathAndQuery, "/account/reset", ("user", query["user"]!), ("token", query["token"]!), ("password", "reset passphrase 2"), ("confirm", "reset passphrase 2"));

        Assert.StartsWith("/login?reset=1", first.Headers.Location!.OriginalString);
        Assert.Contains("error=invalid", again.Headers.Location!.OriginalString);
        await Task.Delay(1500);
        Assert.Null(await forms.SignedInAsAsync()); // the reset ended the account's session at its next check
        Assert.Equal(HttpStatusCode.Redirect, (await stranger.SignInAsync(name, "reset passphrase 1")).StatusCode);
        Assert.Equal(name, await stranger.SignedInAsAsync());
    }

    [Fact]
    public async Task TheSignInFormAndHttpBasicTakeTheConfiguredAdminCredentials()
    {
        using var forms = new AccountForms(new ChatUser(), N.BaseAddress);
        var response = await forms.SignInAsync("admin", NodeProcess.AdminPassword, "");

        Assert.Equal("/admin", response.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await forms.Http.GetAsync("admin")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await forms.Http.GetAsync("admin/users")).StatusCode);
        using var basic = AdminClient();
        Assert.Equal(HttpStatusCode.OK, (await basic.GetAsync("api/admin/users")).StatusCode);
    }

    [Fact]
    public async Task WithAnonymousUseOffEverythingButSigningInNeedsAnAccount()
    {
        using var closed = new ChatPortalNode("node-closed", new Dictionary<string, string?> { ["ChatPortal:Accounts:AllowAnonymous"] = "false" });
        var user = new ChatUser();
        using var forms = new AccountForms(user, closed.BaseAddress);

        await AssertProblemAsync(await forms.Http.GetAsync("api/conversations"), HttpStatusCode.Unauthorized, "account");
        await AssertProblemAsync(await forms.Http.PostAsync("api/conversations", null), HttpStatusCode.Unauthorized, "account");
        var page = await forms.Http.GetAsync("c/abc");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/login?returnUrl=%2Fc%2Fabc", page.Headers.Location!.OriginalString);
        Assert.DoesNotContain(user.Cookies.GetCookies(closed.BaseAddress), c => c.Name == "chatportal_id");
        Assert.Equal(HttpStatusCode.OK, (await forms.Http.GetAsync("login")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await forms.Http.GetAsync("register")).StatusCode);

        Assert.Equal(HttpStatusCode.Redirect, (await forms.SignUpAsync(NewName("closed"), Password)).StatusCode);

        using var api = user.On(closed.BaseAddress);
        var id = await api.CreateConversationAsync();
        Assert.Equal(id, (await api.GetJsonAsync("api/conversations"))[0].GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, (await forms.Http.GetAsync("/")).StatusCode);
    }

    private async Task<System.Security.Claims.ClaimsPrincipal> PrincipalOfAsync(string name)
    {
        using var scope = N.Services.CreateScope();
        var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<UserRecord>>();
        var user = await signIn.UserManager.FindByNameAsync(name);
        return await signIn.CreateUserPrincipalAsync(user!);
    }

    private async Task<List<JsonElement>> ListAccountsAsync()
    {
        using var admin = AdminClient();
        return [.. (await admin.GetFromJsonAsync<JsonElement>("api/admin/users")).EnumerateArray()];
    }

    private HttpClient AdminClient() => BasicClient("admin", NodeProcess.AdminPassword);

    private HttpClient BasicClient(string user, string password)
    {
        var http = new HttpClient { BaseAddress = N.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return http;
    }
}
