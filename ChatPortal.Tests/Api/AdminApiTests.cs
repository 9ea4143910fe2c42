using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatPortal.Testing;
using static ChatPortal.Tests.Api.ConversationApiTests;

namespace ChatPortal.Tests.Api;

/// <summary>Admin sign-in and the admin API on one node.</summary>
public sealed partial class AdminApiTests : IClassFixture<AdminApiTests.Node>
{
    private readonly Node _node;

    public AdminApiTests(Node node) => _node = node;

    public sealed class Node : IDisposable
    {
        public ChatPortalNode Server { get; } = new("node-admin", new Dictionary<string, string?>
        {
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "30",
            ["ChatPortal:Model:Simulated:ResponseTokens"] = "300",
        });

        public void Dispose() => Server.Dispose();
    }

    private HttpClient Admin(string password = NodeProcess.AdminPassword)
    {
        var http = new HttpClient { BaseAddress = _node.Server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
        return http;
    }

    [Theory]
    [InlineData("api/admin/tasks")]
    [InlineData("api/admin/overview")]
    [InlineData("api/admin/usage?range=today")]
    public async Task AdminEndpointsAre401WithoutCredentialsAndWithWrongOnes(string path)
    {
        using var anonymous = new HttpClient { BaseAddress = _node.Server.BaseAddress };
        using var wrong = Admin("not-the-password");

        var none = await anonymous.GetAsync(path);
        var bad = await wrong.GetAsync(path);

        await AssertProblemAsync(none, HttpStatusCode.Unauthorized, "HTTP Basic");
        Assert.StartsWith("Basic", none.Headers.WwwAuthenticate.ToString());
        await AssertProblemAsync(bad, HttpStatusCode.Unauthorized, null);
        await AssertProblemAsync(await anonymous.PostAsync("api/admin/tasks/x-y/cancel", null), HttpStatusCode.Unauthorized, null);
    }

    [Fact]
    public async Task AUsersCookieIsNotAnAdminCredential()
    {
        using var user = _node.Server.ClientFor(new ChatUser());
        await user.CreateConversationAsync();

        await AssertProblemAsync(await user.Http.GetAsync("api/admin/tasks"), HttpStatusCode.Unauthorized, null);
    }

    [Fact]
    public async Task TheAdminSeesAndCancelsAnyUsersTask()
    {
        using var user = _node.Server.ClientFor(new ChatUser());
        var id = await user.CreateConversationAsync();
        using var response = await user.SendAsync(id, "watched by the admin");
        var taskId = await ReadTaskIdAsync(response);
        using var admin = Admin();

        var tasks = await admin.GetFromJsonAsync<JsonElement>("api/admin/tasks");
        var task = Assert.Single(tasks.EnumerateArray(), t => t.GetProperty("taskId").GetString() == taskId);
        Assert.Equal(id, task.GetProperty("conversationId").GetString());
        Assert.Equal("node-admin", task.GetProperty("node").GetString());
        Assert.Equal("running", task.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(task.GetProperty("userId").GetString()));
        Assert.True(task.TryGetProperty("startedAt", out _));
        Assert.True(task.TryGetProperty("tokens", out _));

        var cancel = await admin.PostAsync($"api/admin/tasks/{taskId}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var body = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("cancelled", body.GetProperty("status").GetString());
        Assert.Equal("node-admin", body.GetProperty("ownerNode").GetString());
        Assert.DoesNotContain((await admin.GetFromJsonAsync<JsonElement>("api/admin/tasks")).EnumerateArray(), t => t.GetProperty("taskId").GetString() == taskId);
        await AssertProblemAsync(await admin.PostAsync("api/admin/tasks/0123456789abcdef01234567-deadbeef/cancel", null), HttpStatusCode.NotFound, null);
    }

    [Fact]
    public async Task TheOverviewHasNodesRedisAndTheMeasuredFigures()
    {
        using var user = _node.Server.ClientFor(new ChatUser());
        var id = await user.CreateConversationAsync();
        using var response = await user.SendAsync(id, "measure my stop");
        var taskId = await ReadTaskIdAsync(response);
        Assert.Equal(HttpStatusCode.OK, (await user.CancelAsync(taskId)).StatusCode);
        using var admin = Admin();

        var overview = await admin.GetFromJsonAsync<JsonElement>("api/admin/overview");

        var node = Assert.Single(overview.GetProperty("nodes").EnumerateArray());
        Assert.Equal("node-admin", node.GetProperty("id").GetString());
        Assert.True(node.TryGetProperty("lastSeen", out _));
        Assert.True(node.TryGetProperty("activeTasks", out _));
        var redis = overview.GetProperty("redis");
        Assert.Equal("healthy", redis.GetProperty("status").GetString());
        Assert.Equal("single-node", redis.GetProperty("mode").GetString());
        foreach (var key in (string[])["pingMs", "version", "usedMemoryBytes", "opsPerSec", "connectedClients"])
        {
            Assert.True(redis.TryGetProperty(key, out _), key);
        }

        var metrics = overview.GetProperty("metrics");
        Assert.True(metrics.GetProperty("answers").GetInt64() >= 1);
        Assert.Equal(0, metrics.GetProperty("redisCommandsPerAnswer").GetDouble());
        Assert.True(metrics.GetProperty("cancelLatencyMs").GetProperty("p50").GetDouble() > 0);
        Assert.True(metrics.GetProperty("cancelLatencyMs").GetProperty("p99").GetDouble() >= metrics.GetProperty("cancelLatencyMs").GetProperty("p50").GetDouble());
        Assert.Equal(1, metrics.GetProperty("cancelFirstAttemptSuccessRate").GetDouble());
        Assert.True(metrics.TryGetProperty("overheadMsPerAnswer", out _));
    }

    [Fact]
    public async Task SigningInNeedsTheAntiforgeryTokenAndTheRightPasswordAndMakesTheBrowserAnAdmin()
    {
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = _node.Server.BaseAddress };

        var adminPage = await browser.GetAsync("admin");
        Assert.Equal(HttpStatusCode.Redirect, adminPage.StatusCode);
        Assert.StartsWith("/login", adminPage.Headers.Location!.AbsolutePath);

        var page = await browser.GetStringAsync("login");
        Assert.Contains("data-testid=\"login-username\"", page);
        Assert.Contains("data-testid=\"login-password\"", page);
        var token = AntiforgeryToken().Match(page).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token));

        var noToken = await browser.PostAsync("account/login", Form(("username", "admin"), ("password", NodeProcess.AdminPassword)));
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);

        var wrong = await browser.PostAsync("account/login", Form(("__RequestVerificationToken", token), ("username", "admin"), ("password", "nope"), ("returnUrl", "/admin")));
        Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
        Assert.StartsWith("/login?error=1", wrong.Headers.Location!.OriginalString);

        var right = await browser.PostAsync("account/login", Form(("__RequestVerificationToken", token), ("username", "admin"), ("password", NodeProcess.AdminPassword), ("returnUrl", "https://evil.example/")));
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal("/admin", right.Headers.Location!.OriginalString); // never an open redirect
        Assert.Contains(right.Headers.GetValues("Set-Cookie"), c => c.StartsWith("chatportal_id=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("admin")).StatusCode);
    }

    [Fact]
    public async Task RepeatedFailedSignInsWaitWithBackoffAndTheRightPasswordWorksAfterwards()
    {
        using var limited = new ChatPortalNode("node-login-limit");
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = limited.BaseAddress };
        var token = AntiforgeryToken().Match(await browser.GetStringAsync("login")).Groups[1].Value;
        FormUrlEncodedContent Attempt(string password) => Form(("__RequestVerificationToken", token), ("username", "admin"), ("password", password));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await browser.PostAsync("account/login", Attempt($"guess-{i}"))).StatusCode);
        }

        var refused = await browser.PostAsync("account/login", Attempt(NodeProcess.AdminPassword));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Redirect, s)); // five free failures (the default)
        await AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "wait");
        var wait = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(wait.TotalSeconds, 1, 2);
        await Task.Delay(wait);
        var right = await browser.PostAsync("account/login", Attempt(NodeProcess.AdminPassword));
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal("/admin", right.Headers.Location!.OriginalString);
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
