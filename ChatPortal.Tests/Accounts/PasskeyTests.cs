using System.Net;
using System.Text.Json;
using ChatPortal.Testing;
using ChatPortal.Tests.Api;

namespace ChatPortal.Tests.Accounts;

/// <summary>
/// Passkeys on one node, without a browser: the options the browser is given, and every kind of bad answer
/// (garbage, empty, oversized, no options asked first, someone else's id) sent back to its page with a message and
/// nothing stored, never a 500. The full ceremony with a real authenticator is in the E2E tests.
/// </summary>
public sealed class PasskeyTests : IClassFixture<AccountTests.Node>
{
    private readonly AccountTests.Node _fixture;

    public PasskeyTests(AccountTests.Node fixture) => _fixture = fixture;

    private ChatPortalNode N => _fixture.Instance;

    private const string Password = "correct horse battery";

    private const string Garbage = "{\"id\":\"AAAA\",\"rawId\":\"AAAA\",\"type\":\"public-key\",\"response\":{\"clientDataJSON\":\"not-base64!\"}}";

    private async Task<(AccountForms Forms, string Name)> NewAccountAsync()
    {
        var forms = new AccountForms(new ChatUser(), N.BaseAddress);
        var name = $"pk-{Guid.NewGuid():N}"[..20];
        Assert.Equal(HttpStatusCode.Redirect, (await forms.SignUpAsync(name, Password)).StatusCode);
        return (forms, name);
    }

    [Fact]
    public async Task AnAccountGetsCreationOptionsForItselfAndAnyoneGetsRequestOptions()
    {
        var (forms, name) = await NewAccountAsync();
        using var _ = forms;

        using var creation = await forms.PostAsync("/account", "/account/passkey/creation-options");
        Assert.Equal(HttpStatusCode.OK, creation.StatusCode);
        Assert.Equal("application/json", creation.Content.Headers.ContentType!.MediaType);
        var options = JsonDocument.Parse(await creation.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(name, options.GetProperty("user").GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(options.GetProperty("challenge").GetString()));

        using var anonymous = new AccountForms(new ChatUser(), N.BaseAddress);
        using var request = await anonymous.PostAsync("/login", "/account/passkey/request-options");
        Assert.Equal(HttpStatusCode.OK, request.StatusCode);
        var requestOptions = JsonDocument.Parse(await request.Content.ReadAsStringAsync()).RootElement;
        Assert.False(string.IsNullOrEmpty(requestOptions.GetProperty("challenge").GetString()));
    }

    [Fact]
    public async Task AnAnonymousUserGetsNoCreationOptionsAndCannotAddAPasskey()
    {
        using var anonymous = new AccountForms(new ChatUser(), N.BaseAddress);

        using var options = await anonymous.PostAsync("/login", "/account/passkey/creation-options");
        using var add = await anonymous.PostAsync("/login", "/account/passkey/add", ("credential", Garbage));

        Assert.Equal(HttpStatusCode.Unauthorized, options.StatusCode);
        Assert.Equal("application/problem+json", options.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.Redirect, add.StatusCode);
        Assert.StartsWith("/login", add.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task OptionsWithoutTheAntiforgeryTokenAreRefused()
    {
        using var anonymous = new AccountForms(new ChatUser(), N.BaseAddress);
        await anonymous.Http.GetStringAsync("login");

        using var response = await anonymous.Http.PostAsync("account/passkey/request-options", new FormUrlEncodedContent([]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    public static TheoryData<string, bool> BadCredentials => new()
    {
        { Garbage, true },
        { Garbage, false },
        { "not json at all", true },
        { "", true },
        { "null", true },
        { "[]", true },
        { new string('x', 70_000), true },
    };

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task ABadNewPasskeyIsRefusedWithAMessageAndNothingIsStored(string credential, bool askedForOptions)
    {
        var (forms, _) = await NewAccountAsync();
        using var _ = forms;
        if (askedForOptions)
        {
            (await forms.PostAsync("/account", "/account/passkey/creation-options")).EnsureSuccessStatusCode();
        }

        using var response = await forms.PostAsync("/account", "/account/passkey/add", ("credential", credential), ("name", "mine"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/account?error=passkey", response.Headers.Location!.OriginalString);
        var page = await forms.Http.GetStringAsync("account?error=passkey");
        Assert.Contains("data-testid=\"passkey-error\"", page, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"passkey-none\"", page, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task ABadPasskeySignInIsRefusedWithAMessageAndTheBrowserStaysAnonymous(string credential, bool askedForOptions)
    {
        using var anonymous = new AccountForms(new ChatUser(), N.BaseAddress);
        if (askedForOptions)
        {
            (await anonymous.PostAsync("/login", "/account/passkey/request-options")).EnsureSuccessStatusCode();
        }

        using var response = await anonymous.PostAsync("/login", "/account/passkey/login", ("credential", credential), ("returnUrl", "/c/x"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login?error=passkey&returnUrl=%2Fc%2Fx", response.Headers.Location!.OriginalString);
        Assert.Null(await anonymous.SignedInAsAsync());
        var page = await anonymous.Http.GetStringAsync("login?error=passkey");
        Assert.Contains("data-kind=\"passkey\"", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64url!")]
    [InlineData("AAAAAAAAAAAAAAAA")]
    [InlineData("")]
    public async Task RemovingAPasskeyTheAccountDoesNotHaveIsRefusedWithAMessage(string id)
    {
        var (forms, _) = await NewAccountAsync();
        using var _ = forms;

        using var response = await forms.PostAsync("/account", "/account/passkey/remove", ("id", id));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/account?error=passkey-remove", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task TheAccountPageOffersPasskeysAndTheSignInPageASignInWithOne()
    {
        var (forms, _) = await NewAccountAsync();
        using var _ = forms;

        var account = await forms.Http.GetStringAsync("account");
        var login = await new AccountForms(new ChatUser(), N.BaseAddress).Http.GetStringAsync("login");

        Assert.Contains("data-passkey=\"create\"", account, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"passkey-none\"", account, StringComparison.Ordinal);
        Assert.Contains("data-passkey=\"request\"", login, StringComparison.Ordinal);
    }
}
