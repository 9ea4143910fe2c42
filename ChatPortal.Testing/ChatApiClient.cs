using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ChatPortal.Testing;

/// <summary>
/// One user of the HTTP API. The cookie jar is the user's identity; <see cref="On"/> talks to any node as
/// the same user (cookies are not bound to a port).
/// </summary>
public sealed class ChatUser
{
    public CookieContainer Cookies { get; } = new();

    public ChatApiClient On(Uri node) => new(node, Cookies);

    public ChatApiClient On(string nodeUrl) => On(new Uri(nodeUrl.TrimEnd('/') + "/"));
}

/// <summary>
/// The HTTP API as one user. A node mints the identity cookie only on a safe request, so before its first unsafe
/// request without that cookie the client makes a GET (<c>api/conversations</c>), as a browser's page load would.
/// </summary>
public sealed class ChatApiClient : IDisposable
{
    public ChatApiClient(Uri baseAddress, CookieContainer cookies)
    {
        var handler = new IdentityFirstHandler(cookies) { InnerHandler = new HttpClientHandler { CookieContainer = cookies, UseCookies = true } };
        Http = new HttpClient(handler)
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public HttpClient Http { get; }

    public async Task<string> CreateConversationAsync()
    {
        var response = await Http.PostAsync("api/conversations", null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>Sends a message; the response is the SSE stream (or an error with problem details).</summary>
    public Task<HttpResponseMessage> SendAsync(string conversationId, string text, CancellationToken cancellationToken = default) =>
        PostStreamAsync($"api/conversations/{conversationId}/messages", JsonContent.Create(new { text }), cancellationToken);

    public async Task<HttpResponseMessage> PostStreamAsync(string path, HttpContent content, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        return await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public async Task<HttpResponseMessage> FollowAsync(string taskId, CancellationToken cancellationToken = default) =>
        await Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"api/tasks/{taskId}/stream"), HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    public Task<HttpResponseMessage> CancelAsync(string taskId) => Http.PostAsync($"api/tasks/{taskId}/cancel", null);

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await Http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public Task<JsonElement> GetConversationAsync(string conversationId) => GetJsonAsync($"api/conversations/{conversationId}");

    public void Dispose() => Http.Dispose();
}

/// <summary>Makes a GET for the identity cookie before an unsafe request that would go without one.</summary>
internal sealed class IdentityFirstHandler(CookieContainer cookies) : DelegatingHandler
{
    public const string CookieName = "chatportal_id";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = request.Method;
        var unsafeMethod = method != HttpMethod.Get && method != HttpMethod.Head && method != HttpMethod.Options;
        if (unsafeMethod && request.RequestUri is { } uri && cookies.GetCookies(uri)[CookieName] is null)
        {
            using var identity = new HttpRequestMessage(HttpMethod.Get, new Uri(uri, "/api/conversations"));
            using var response = await base.SendAsync(identity, cancellationToken);
            response.EnsureSuccessStatusCode();
        }

        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>A message's stream read to its end: the task, the text, the final status.</summary>
public sealed record StreamResult(string? TaskId, string? Node, string Text, string? Status, string? Reason, IReadOnlyList<SseEvent> Events)
{
    public static async Task<StreamResult> ReadAsync(HttpResponseMessage response, Func<SseEvent, Task>? onEvent = null, CancellationToken cancellationToken = default)
    {
        string? taskId = null, node = null, status = null, reason = null;
        var text = new System.Text.StringBuilder();
        var events = new List<SseEvent>();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in Sse.ReadAsync(stream, cancellationToken))
        {
            events.Add(item);
            switch (item.Name)
            {
                case "task":
                    taskId = item.Get("taskId");
                    node = item.Get("node");
                    break;
                case "delta":
                    text.Append(item.Get("text"));
                    break;
                case "done":
                    status = item.Get("status");
                    reason = item.Get("reason");
                    break;
            }

            if (onEvent is not null)
            {
                await onEvent(item);
            }

            if (item.Name == "done")
            {
                break;
            }
        }

        return new StreamResult(taskId, node, text.ToString(), status, reason, events);
    }
}
