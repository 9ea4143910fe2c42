using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace ChatPortal.Testing;

/// <summary>
/// A small OpenID Connect provider for tests, on Kestrel at 127.0.0.1 on a free port: discovery
/// (<c>/.well-known/openid-configuration</c>), JWKS (an RSA key made at start), the authorization code flow with PKCE
/// (S256) at <c>/authorize</c> and <c>/token</c>, and <c>/userinfo</c>. One client (id and secret). It signs in
/// <see cref="User"/> at once, or, when <see cref="Interactive"/>, shows a tiny form a test can fill in and submit.
/// Codes are one-time and short-lived; the token endpoint checks the client, the code, the redirect URI and the PKCE
/// verifier, and answers errors the way RFC 6749 says (<c>invalid_client</c> with 401, <c>invalid_grant</c> with 400).
/// </summary>
public sealed class OidcTestProvider : IAsyncDisposable
{
    public const string AuthorizePath = "/authorize";
    public const string TokenPath = "/token";
    public const string JwksPath = "/jwks";
    public const string UserInfoPath = "/userinfo";
    public const string DiscoveryPath = "/.well-known/openid-configuration";

    private readonly WebApplication _app;
    private readonly OidcSigningKey _key = new();
    private readonly ConcurrentDictionary<string, IssuedCode> _codes = new();
    private readonly ConcurrentDictionary<string, OidcTestUser> _accessTokens = new();
    private readonly ConcurrentDictionary<string, byte> _redirectUris = new();
    private int _tokensIssued;

    private OidcTestProvider(WebApplication app, string clientId, string clientSecret)
    {
        _app = app;
        ClientId = clientId;
        ClientSecret = clientSecret;
    }

    /// <summary>The issuer, which is also the authority a client is configured with: <c>http://127.0.0.1:PORT</c>.</summary>
    public string Issuer { get; private set; } = "";

    public string ClientId { get; }

    public string ClientSecret { get; }

    /// <summary>Who the next sign-in is (without <see cref="Interactive"/>, signed in at once).</summary>
    public OidcTestUser User { get; set; } = OidcTestUser.Alice;

    /// <summary>Show a sign-in form (subject, email, name, prefilled with <see cref="User"/>) instead of signing in at once.</summary>
    public bool Interactive { get; set; }

    /// <summary>How long a code may wait for its exchange.</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Tokens the token endpoint handed out so far.</summary>
    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    /// <summary>The signing key (its id and public half; tests read token payloads through it).</summary>
    public OidcSigningKey SigningKey => _key;

    public static async Task<OidcTestProvider> StartAsync(string clientId = "chatportal-tests", string? clientSecret = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var provider = new OidcTestProvider(app, clientId, clientSecret ?? OidcSigningKey.Base64Url(RandomNumberGenerator.GetBytes(24)));
        app.Run(provider.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        provider.Issuer = address.TrimEnd('/').Replace("localhost", "127.0.0.1");
        return provider;
    }

    /// <summary>
    /// Registers a redirect URI of the client. While none is registered, any http(s) URI on 127.0.0.1 or localhost is
    /// accepted (tests' nodes pick their ports at start); once one is, only registered ones are.
    /// </summary>
    public void AllowRedirectUri(string uri) => _redirectUris[uri] = 0;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Dispose();
    }

    private Task HandleAsync(HttpContext context)
    {
        var (method, path) = (context.Request.Method, context.Request.Path.Value ?? "");
        return (method, path) switch
        {
            ("GET", DiscoveryPath) => JsonAsync(context, 200, Discovery()),
            ("GET", JwksPath) => JsonAsync(context, 200, _key.Jwks()),
            ("GET" or "POST", AuthorizePath) => AuthorizeAsync(context),
            ("POST", TokenPath) => TokenAsync(context),
            ("GET" or "POST", UserInfoPath) => UserInfoAsync(context),
            (_, DiscoveryPath or JwksPath or AuthorizePath or TokenPath or UserInfoPath) => StatusAsync(context, 405),
            _ => StatusAsync(context, 404),
        };
    }

    private JsonObject Discovery() => new()
    {
        ["issuer"] = Issuer,
        ["authorization_endpoint"] = Issuer + AuthorizePath,
        ["token_endpoint"] = Issuer + TokenPath,
        ["userinfo_endpoint"] = Issuer + UserInfoPath,
        ["jwks_uri"] = Issuer + JwksPath,
        ["response_types_supported"] = new JsonArray("code"),
        ["response_modes_supported"] = new JsonArray("query", "form_post"),
        ["grant_types_supported"] = new JsonArray("authorization_code"),
        ["subject_types_supported"] = new JsonArray("public"),
        ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        ["scopes_supported"] = new JsonArray("openid", "profile", "email"),
        ["token_endpoint_auth_methods_supported"] = new JsonArray("client_secret_post", "client_secret_basic"),
        ["code_challenge_methods_supported"] = new JsonArray(Pkce.Method),
        ["claims_supported"] = new JsonArray("iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"),
    };

    // ---- authorize ----------------------------------------------------------------------------------------------

    private async Task AuthorizeAsync(HttpContext context)
    {
        var isPost = HttpMethods.IsPost(context.Request.Method);
        var form = isPost && context.Request.HasFormContentType ? await context.Request.ReadFormAsync() : null;
        string? Param(string name) => (form is not null ? form[name] : context.Request.Query[name]) is { Count: > 0 } v && !StringValues.IsNullOrEmpty(v) ? v.ToString() : null;

        var (clientId, redirectUri, state) = (Param("client_id"), Param("redirect_uri"), Param("state"));

        // Who to answer is not known until client and redirect URI are: an error before that is shown here, never redirected.
        if (clientId != ClientId)
        {
            await HtmlAsync(context, 400, "Unknown client", $"<p data-testid=\"oidc-error\">Unknown client_id '{Encode(clientId)}'.</p>");
            return;
        }

        if (redirectUri is null || !IsAllowedRedirect(redirectUri))
        {
            await HtmlAsync(context, 400, "Bad redirect URI", $"<p data-testid=\"oidc-error\">redirect_uri '{Encode(redirectUri)}' is not registered for this client.</p>");
            return;
        }

        var responseMode = Param("response_mode") ?? "query";
        if (responseMode is not ("query" or "form_post"))
        {
            await RedirectAsync(context, redirectUri, "query", Error("invalid_request", "response_mode must be query or form_post", state));
            return;
        }

        string? problem = null;
        var error = "invalid_request";
        if (Param("response_type") != "code")
        {
            (error, problem) = ("unsupported_response_type", "response_type must be code");
        }
        else if (!(Param("scope") ?? "").Split(' ').Contains("openid"))
        {
            (error, problem) = ("invalid_scope", "scope must include openid");
        }
        else if (Param("code_challenge") is not { Length: >= 43 and <= 128 })
        {
            problem = "code_challenge (PKCE) is required";
        }
        else if (Param("code_challenge_method") != Pkce.Method)
        {
            problem = "code_challenge_method must be S256";
        }

        if (problem is not null)
        {
            await RedirectAsync(context, redirectUri, responseMode, Error(error, problem, state));
            return;
        }

        OidcTestUser user;
        if (Interactive && form?["signin"] is not { Count: > 0 })
        {
            await LoginFormAsync(context, isPost ? form!.ToDictionary(p => p.Key, p => p.Value.ToString()) : context.Request.Query.ToDictionary(p => p.Key, p => p.Value.ToString()));
            return;
        }

        if (Interactive)
        {
            if (form!["signin"] == "deny")
            {
                await RedirectAsync(context, redirectUri, responseMode, Error("access_denied", "the user declined", state));
                return;
            }

            user = new OidcTestUser(
                Param("login_sub") ?? User.Subject,
                Param("login_email") ?? User.Email,
                Param("login_name") ?? User.Name);
        }
        else
        {
            user = User;
        }

        var code = OidcSigningKey.Base64Url(RandomNumberGenerator.GetBytes(32));
        _codes[code] = new IssuedCode(clientId, redirectUri, Param("nonce"), Param("code_challenge")!, user, DateTimeOffset.UtcNow + CodeLifetime);
        var answer = new Dictionary<string, string?> { ["code"] = code, ["state"] = state, ["iss"] = Issuer };
        await RedirectAsync(context, redirectUri, responseMode, answer);
    }

    private bool IsAllowedRedirect(string uri)
    {
        if (!_redirectUris.IsEmpty)
        {
            return _redirectUris.ContainsKey(uri);
        }

        return Uri.TryCreate(uri, UriKind.Absolute, out var parsed)
            && parsed.Scheme is "http" or "https"
            && parsed.Host is "127.0.0.1" or "localhost"
            && string.IsNullOrEmpty(parsed.Fragment);
    }

    private static Dictionary<string, string?> Error(string error, string description, string? state) =>
        new() { ["error"] = error, ["error_description"] = description, ["state"] = state };

    private static async Task RedirectAsync(HttpContext context, string redirectUri, string responseMode, Dictionary<string, string?> parameters)
    {
        var present = parameters.Where(p => p.Value is not null).ToList();
        if (responseMode == "form_post")
        {
            var fields = string.Concat(present.Select(p => $"<input type=\"hidden\" name=\"{Encode(p.Key)}\" value=\"{Encode(p.Value)}\" />"));
            await HtmlAsync(context, 200, "Signing in…",
                $"<form method=\"post\" action=\"{Encode(redirectUri)}\">{fields}<noscript><button type=\"submit\">Continue</button></noscript></form>"
                + "<script>document.forms[0].submit();</script>");
            return;
        }

        var query = string.Join('&', present.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value!)}"));
        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = redirectUri + (redirectUri.Contains('?') ? "&" : "?") + query;
    }

    private Task LoginFormAsync(HttpContext context, Dictionary<string, string> request)
    {
        var hidden = string.Concat(request.Where(p => !p.Key.StartsWith("login_", StringComparison.Ordinal) && p.Key != "signin")
            .Select(p => $"<input type=\"hidden\" name=\"{Encode(p.Key)}\" value=\"{Encode(p.Value)}\" />"));
        var body = $"""
            <h1>Test provider</h1>
            <form method="post" action="{AuthorizePath}">
              {hidden}
              <label>Subject <input name="login_sub" value="{Encode(User.Subject)}" data-testid="oidc-subject" /></label>
              <label>Email <input name="login_email" value="{Encode(User.Email)}" data-testid="oidc-email" /></label>
              <label>Name <input name="login_name" value="{Encode(User.Name)}" data-testid="oidc-name" /></label>
              <button type="submit" name="signin" value="allow" data-testid="oidc-signin">Sign in</button>
              <button type="submit" name="signin" value="deny" data-testid="oidc-deny">Cancel</button>
            </form>
            """;
        return HtmlAsync(context, 200, "Sign in · Test provider", body);
    }

    // ---- token --------------------------------------------------------------------------------------------------

    private async Task TokenAsync(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!context.Request.HasFormContentType)
        {
            await TokenErrorAsync(context, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
            return;
        }

        var form = await context.Request.ReadFormAsync();
        var (clientId, clientSecret, viaBasic) = ClientCredentials(context, form);
        if (clientId != ClientId || clientSecret is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(clientSecret), Encoding.UTF8.GetBytes(ClientSecret)))
        {
            if (viaBasic)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"token\"";
            }

            await TokenErrorAsync(context, 401, "invalid_client", "unknown client or wrong secret");
            return;
        }

        if (form["grant_type"] != "authorization_code")
        {
            await TokenErrorAsync(context, 400, "unsupported_grant_type", "only authorization_code is supported");
            return;
        }

        // One-time: the code is gone from here on, whatever the rest of the request says.
        if (form["code"].ToString() is not { Length: > 0 } codeValue || !_codes.TryRemove(codeValue, out var code))
        {
            await TokenErrorAsync(context, 400, "invalid_grant", "unknown, used or expired code");
            return;
        }

        var problem = code.ClientId != clientId ? "the code was issued to another client"
            : DateTimeOffset.UtcNow >= code.ExpiresAt ? "the code expired"
            : form["redirect_uri"] != code.RedirectUri ? "redirect_uri differs from the authorization request's"
            : !Pkce.Verify(form["code_verifier"], code.CodeChallenge) ? "the PKCE code_verifier does not match the code_challenge"
            : null;
        if (problem is not null)
        {
            await TokenErrorAsync(context, 400, "invalid_grant", problem);
            return;
        }

        var now = DateTimeOffset.UtcNow;
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = code.User.Subject,
            ["aud"] = clientId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + TokenLifetime).ToUnixTimeSeconds(),
            ["auth_time"] = now.ToUnixTimeSeconds(),
            ["email"] = code.User.Email,
            ["email_verified"] = true,
            ["name"] = code.User.Name,
        };
        if (code.Nonce is not null)
        {
            payload["nonce"] = code.Nonce;
        }

        var accessToken = OidcSigningKey.Base64Url(RandomNumberGenerator.GetBytes(32));
        _accessTokens[accessToken] = code.User;
        Interlocked.Increment(ref _tokensIssued);
        await JsonAsync(context, 200, new JsonObject
        {
            ["access_token"] = accessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)TokenLifetime.TotalSeconds,
            ["scope"] = "openid profile email",
            ["id_token"] = _key.Sign(payload),
        });
    }

    private static (string? Id, string? Secret, bool ViaBasic) ClientCredentials(HttpContext context, IFormCollection form)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':');
                return colon < 0
                    ? (null, null, true)
                    : (Uri.UnescapeDataString(decoded[..colon]), Uri.UnescapeDataString(decoded[(colon + 1)..]), true);
            }
            catch (FormatException)
            {
                return (null, null, true);
            }
        }

        return (form["client_id"].ToString(), form["client_secret"] is { Count: > 0 } secret ? secret.ToString() : null, false);
    }

    private static Task TokenErrorAsync(HttpContext context, int status, string error, string description) =>
        JsonAsync(context, status, new JsonObject { ["error"] = error, ["error_description"] = description });

    // ---- userinfo -----------------------------------------------------------------------------------------------

    private Task UserInfoAsync(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            || !_accessTokens.TryGetValue(authorization["Bearer ".Length..].Trim(), out var user))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return StatusAsync(context, 401);
        }

        return JsonAsync(context, 200, new JsonObject { ["sub"] = user.Subject, ["email"] = user.Email, ["email_verified"] = true, ["name"] = user.Name });
    }

    // ---- writing ------------------------------------------------------------------------------------------------

    private static Task JsonAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task HtmlAsync(HttpContext context, int status, string title, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync($"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{Encode(title)}</title></head><body>{body}</body></html>");
    }

    private static Task StatusAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    private static string Encode(string? value) => HtmlEncoder.Default.Encode(value ?? "");

    private sealed record IssuedCode(string ClientId, string RedirectUri, string? Nonce, string CodeChallenge, OidcTestUser User, DateTimeOffset ExpiresAt);
}
