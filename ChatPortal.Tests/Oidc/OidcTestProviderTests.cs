using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using ChatPortal.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatPortal.Tests.Oidc;

/// <summary>The test OpenID Connect provider on its own, driven by a plain HttpClient as a relying party would.</summary>
public sealed class OidcTestProviderTests : IAsyncLifetime
{
    private const string RedirectUri = "http://127.0.0.1:5999/signin-oidc";

    private OidcTestProvider _provider = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _provider = await OidcTestProvider.StartAsync("app", "app-secret");
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(_provider.Issuer + "/") };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task DiscoveryNamesTheIssuerAndEveryEndpoint()
    {
        var discovery = await _http.GetFromJsonAsync<JsonElement>(".well-known/openid-configuration");

        Assert.Equal(_provider.Issuer, discovery.GetProperty("issuer").GetString());
        Assert.StartsWith("http://127.0.0.1:", _provider.Issuer);
        foreach (var (key, path) in new[] { ("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"), ("jwks_uri", "/jwks"), ("userinfo_endpoint", "/userinfo") })
        {
            Assert.Equal(_provider.Issuer + path, discovery.GetProperty(key).GetString());
        }

        Assert.Equal(["S256"], discovery.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("code", discovery.GetProperty("response_types_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task JwksPublishesTheRsaSigningKeyWithItsId()
    {
        var jwks = new JsonWebKeySet(await _http.GetStringAsync("jwks"));

        var key = Assert.Single(jwks.Keys);
        Assert.Equal("RSA", key.Kty);
        Assert.Equal("sig", key.Use);
        Assert.Equal(_provider.SigningKey.KeyId, key.Kid);
        Assert.True(key.N.Length > 300, "a 2048-bit modulus");
    }

    [Fact]
    public async Task TheCodeFlowWithPkceGivesAnIdTokenThatIdentityModelValidatesAgainstTheJwks()
    {
        _provider.User = OidcTestUser.Bob;
        var verifier = Pkce.NewVerifier();

        var callback = await AuthorizeAsync(verifier, state: "state-1", nonce: "nonce-1");
        Assert.Equal("state-1", callback["state"]);
        Assert.Equal(_provider.Issuer, callback["iss"]);
        var tokens = await ExchangeAsync(callback["code"]!, verifier);

        Assert.Equal(HttpStatusCode.OK, tokens.StatusCode);
        Assert.Equal("no-store", tokens.Headers.CacheControl?.ToString());
        var body = await tokens.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Bearer", body.GetProperty("token_type").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("access_token").GetString()));

        var result = await ValidateAsync(body.GetProperty("id_token").GetString()!);
        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(_provider.Issuer, result.Claims["iss"]);
        Assert.Equal("app", result.Claims["aud"]);
        Assert.Equal(OidcTestUser.Bob.Subject, result.Claims["sub"]);
        Assert.Equal(OidcTestUser.Bob.Email, result.Claims["email"]);
        Assert.Equal(OidcTestUser.Bob.Name, result.Claims["name"]);
        Assert.Equal("nonce-1", result.Claims["nonce"]);
        Assert.True(((JsonWebToken)result.SecurityToken).ValidTo > DateTime.UtcNow);
    }

    [Fact]
    public async Task AnIdTokenChangedAfterSigningDoesNotValidate()
    {
        var verifier = Pkce.NewVerifier();
        var callback = await AuthorizeAsync(verifier);
        var idToken = (await (await ExchangeAsync(callback["code"]!, verifier)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id_token").GetString()!;
        var parts = idToken.Split('.');
        var payload = Encoding.UTF8.GetString(OidcSigningKey.FromBase64Url(parts[1])).Replace(OidcTestUser.Alice.Subject, "mallory");
        var forged = $"{parts[0]}.{OidcSigningKey.Base64Url(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";

        Assert.True((await ValidateAsync(idToken)).IsValid);
        Assert.False((await ValidateAsync(forged)).IsValid);
    }

    [Fact]
    public async Task AWrongClientSecretIsInvalidClientWith401InTheBodyAndByBasicAuthentication()
    {
        var verifier = Pkce.NewVerifier();
        var callback = await AuthorizeAsync(verifier);

        var posted = await ExchangeAsync(callback["code"]!, verifier, secret: "wrong");
        using var basic = new HttpRequestMessage(HttpMethod.Post, "token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code", ["code"] = callback["code"]!, ["redirect_uri"] = RedirectUri, ["code_verifier"] = verifier,
            }),
        };
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("app:wrong")));
        var viaBasic = await _http.SendAsync(basic);

        foreach (var response in new[] { posted, viaBasic })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_client", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        Assert.Equal(0, _provider.TokensIssued);
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync(callback["code"]!, verifier)).StatusCode); // a refused client does not use the code up
    }

    [Fact]
    public async Task TheRightSecretByBasicAuthenticationIsAccepted()
    {
        var verifier = Pkce.NewVerifier();
        var callback = await AuthorizeAsync(verifier);
        using var request = new HttpRequestMessage(HttpMethod.Post, "token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code", ["code"] = callback["code"]!, ["redirect_uri"] = RedirectUri, ["code_verifier"] = verifier,
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("app:app-secret")));

        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task ACodeWorksOnceAndItsReuseIsInvalidGrant()
    {
        var verifier = Pkce.NewVerifier();
        var callback = await AuthorizeAsync(verifier);

        var first = await ExchangeAsync(callback["code"]!, verifier);
        var second = await ExchangeAsync(callback["code"]!, verifier);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await AssertErrorAsync(second, "invalid_grant");
        Assert.Equal(1, _provider.TokensIssued);
    }

    [Fact]
    public async Task AVerifierThatDoesNotMatchTheChallengeIsInvalidGrantAndUsesTheCodeUp()
    {
        var verifier = Pkce.NewVerifier();
        var callback = await AuthorizeAsync(verifier);

        await AssertErrorAsync(await ExchangeAsync(callback["code"]!, Pkce.NewVerifier()), "invalid_grant");
        await AssertErrorAsync(await ExchangeAsync(callback["code"]!, verifier), "invalid_grant");
    }

    [Fact]
    public async Task AMissingVerifierAnotherRedirectUriOrAnExpiredCodeIsInvalidGrant()
    {
        var verifier = Pkce.NewVerifier();

        await AssertErrorAsync(await ExchangeAsync((await AuthorizeAsync(verifier))["code"]!, verifier: null), "invalid_grant");
        await AssertErrorAsync(await ExchangeAsync((await AuthorizeAsync(verifier))["code"]!, verifier, redirectUri: "http://127.0.0.1:5999/elsewhere"), "invalid_grant");
        _provider.CodeLifetime = TimeSpan.Zero;
        await AssertErrorAsync(await ExchangeAsync((await AuthorizeAsync(verifier))["code"]!, verifier), "invalid_grant");
        await AssertErrorAsync(await ExchangeAsync("made-up", verifier), "invalid_grant");
        Assert.Equal(0, _provider.TokensIssued);
    }

    [Fact]
    public async Task OnlyTheAuthorizationCodeGrantIsServed()
    {
        var response = await _http.PostAsync("token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["client_id"] = "app", ["client_secret"] = "app-secret", ["username"] = "a", ["password"] = "b",
        }));

        await AssertErrorAsync(response, "unsupported_grant_type");
    }

    [Fact]
    public async Task AnAuthorizationRequestWithoutPkceIsSentBackWithInvalidRequestAndItsState()
    {
        var response = await _http.GetAsync($"authorize?response_type=code&client_id=app&scope=openid&state=s9&redirect_uri={Uri.EscapeDataString(RedirectUri)}");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var callback = HttpUtility.ParseQueryString(response.Headers.Location!.Query);
        Assert.StartsWith(RedirectUri, response.Headers.Location.ToString());
        Assert.Equal("invalid_request", callback["error"]);
        Assert.Equal("s9", callback["state"]);
        Assert.Null(callback["code"]);
    }

    [Fact]
    public async Task AnUnknownClientOrAnUnregisteredRedirectUriIsShownHereAndNeverRedirected()
    {
        var challenge = Pkce.Challenge(Pkce.NewVerifier());
        var unknownClient = await _http.GetAsync($"authorize?response_type=code&client_id=other&scope=openid&code_challenge={challenge}&code_challenge_method=S256&redirect_uri={Uri.EscapeDataString(RedirectUri)}");
        var foreignRedirect = await _http.GetAsync($"authorize?response_type=code&client_id=app&scope=openid&code_challenge={challenge}&code_challenge_method=S256&redirect_uri={Uri.EscapeDataString("https://attacker.example/cb")}");
        _provider.AllowRedirectUri("http://127.0.0.1:5999/registered");
        var unregistered = await _http.GetAsync($"authorize?response_type=code&client_id=app&scope=openid&code_challenge={challenge}&code_challenge_method=S256&redirect_uri={Uri.EscapeDataString(RedirectUri)}");

        foreach (var response in new[] { unknownClient, foreignRedirect, unregistered })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }
    }

    [Fact]
    public async Task TheInteractiveFormSignsInWhomeverTheTestTypesAndCancelIsAccessDenied()
    {
        _provider.Interactive = true;
        var verifier = Pkce.NewVerifier();
        var url = AuthorizeUrl(verifier, "st", "nn");

        var page = await _http.GetStringAsync(url);
        var hidden = Regex.Matches(page, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")
            .ToDictionary(m => m.Groups[1].Value, m => HttpUtility.HtmlDecode(m.Groups[2].Value));
        Assert.Contains("data-testid=\"oidc-signin\"", page);
        Assert.Equal("st", hidden["state"]);

        var fields = new Dictionary<string, string>(hidden) { ["login_sub"] = "carol-3", ["login_email"] = "carol@example.test", ["login_name"] = "Carol", ["signin"] = "allow" };
        var signedIn = await _http.PostAsync("authorize", new FormUrlEncodedContent(fields));
        var denied = await _http.PostAsync("authorize", new FormUrlEncodedContent(new Dictionary<string, string>(hidden) { ["signin"] = "deny" }));

        Assert.Equal(HttpStatusCode.Found, signedIn.StatusCode);
        var callback = HttpUtility.ParseQueryString(signedIn.Headers.Location!.Query);
        var idToken = (await (await ExchangeAsync(callback["code"]!, verifier)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id_token").GetString()!;
        var claims = OidcSigningKey.ReadPayload(idToken);
        Assert.Equal("carol-3", claims.GetProperty("sub").GetString());
        Assert.Equal("Carol", claims.GetProperty("name").GetString());
        Assert.Equal("nn", claims.GetProperty("nonce").GetString());
        Assert.Equal("access_denied", HttpUtility.ParseQueryString(denied.Headers.Location!.Query)["error"]);
    }

    [Fact]
    public async Task FormPostResponseModeAnswersWithAFormThatPostsTheCodeToTheClient()
    {
        var response = await _http.GetAsync(AuthorizeUrl(Pkce.NewVerifier(), "s", "n") + "&response_mode=form_post");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains($"action=\"{RedirectUri}\"", page);
        Assert.Matches("name=\"code\" value=\"[A-Za-z0-9_-]{43}\"", page);
    }

    [Fact]
    public async Task UserInfoAnswersForAnIssuedAccessTokenOnly()
    {
        var verifier = Pkce.NewVerifier();
        var callback = await AuthorizeAsync(verifier);
        var accessToken = (await (await ExchangeAsync(callback["code"]!, verifier)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();

        using var good = new HttpRequestMessage(HttpMethod.Get, "userinfo") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", accessToken) } };
        using var bad = new HttpRequestMessage(HttpMethod.Get, "userinfo") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "nope") } };
        var info = await (await _http.SendAsync(good)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(OidcTestUser.Alice.Subject, info.GetProperty("sub").GetString());
        Assert.Equal(OidcTestUser.Alice.Email, info.GetProperty("email").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.SendAsync(bad)).StatusCode);
    }

    private static string AuthorizeUrl(string verifier, string state, string nonce) =>
        $"authorize?response_type=code&client_id=app&scope={Uri.EscapeDataString("openid profile email")}&state={state}&nonce={nonce}" +
        $"&code_challenge={Pkce.Challenge(verifier)}&code_challenge_method=S256&redirect_uri={Uri.EscapeDataString(RedirectUri)}";

    /// <summary>The authorize request; returns the parameters the provider sent back to the redirect URI.</summary>
    private async Task<System.Collections.Specialized.NameValueCollection> AuthorizeAsync(string verifier, string state = "s", string nonce = "n")
    {
        var response = await _http.GetAsync(AuthorizeUrl(verifier, state, nonce));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(RedirectUri + "?", response.Headers.Location!.ToString());
        return HttpUtility.ParseQueryString(response.Headers.Location.Query);
    }

    private Task<HttpResponseMessage> ExchangeAsync(string code, string? verifier, string secret = "app-secret", string redirectUri = RedirectUri)
    {
        var fields = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = redirectUri, ["client_id"] = "app", ["client_secret"] = secret,
        };
        if (verifier is not null)
        {
            fields["code_verifier"] = verifier;
        }

        return _http.PostAsync("token", new FormUrlEncodedContent(fields));
    }

    private async Task<TokenValidationResult> ValidateAsync(string idToken) =>
        await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = _provider.Issuer,
            ValidAudience = "app",
            IssuerSigningKeys = new JsonWebKeySet(await _http.GetStringAsync("jwks")).GetSigningKeys(),
            ValidateLifetime = true,
        });

    private static async Task AssertErrorAsync(HttpResponseMessage response, string error)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }
}
