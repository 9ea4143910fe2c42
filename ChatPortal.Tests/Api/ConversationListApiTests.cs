using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Core.Conversations;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Api;

/// <summary>The conversation list of docs/API.md: pages, delete and restore, on one node over a real Kestrel port.</summary>
public sealed class ConversationListApiTests(ConversationListApiTests.Node node) : IClassFixture<ConversationListApiTests.Node>
{
    public sealed class Node : IDisposable
    {
        public ChatPortalNode Server { get; } = new("node-list-api");

        public void Dispose() => Server.Dispose();
    }

    private ChatApiClient NewUser() => node.Server.ClientFor(new ChatUser());

    [Fact]
    public async Task ADeleteCanBeUndoneWithinTheWindowAndTheConversationComesBackWhole()
    {
        using var api = NewUser();
        using var mallory = NewUser();
        var id = await api.CreateConversationAsync();
        using (var response = await api.SendAsync(id, "Remember this"))
        {
            Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
        }

        var before = await api.GetConversationAsync(id);

        Assert.Equal(HttpStatusCode.NoContent, (await api.Http.DeleteAsync($"api/conversations/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await api.Http.GetAsync($"api/conversations/{id}")).StatusCode);
        Assert.DoesNotContain(await IdsAsync(api, "api/conversations"), i => i == id);
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(id, "Hello?")).StatusCode);
        await AssertProblemAsync(await mallory.Http.PostAsync($"api/conversations/{id}/restore", null), HttpStatusCode.NotFound, "restore");

        var restored = await api.Http.PostAsync($"api/conversations/{id}/restore", null);

        Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        var item = await restored.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, item.GetProperty("id").GetString());
        Assert.Equal("Remember this", item.GetProperty("title").GetString());
        var after = await api.GetConversationAsync(id);
        Assert.Equal(before.GetProperty("messages").ToString(), after.GetProperty("messages").ToString());
        Assert.Contains(id, await IdsAsync(api, "api/conversations"));
        await AssertProblemAsync(await api.Http.PostAsync($"api/conversations/{id}/restore", null), HttpStatusCode.NotFound, "restore");
    }

    [Fact]
    public async Task TheListComesInPagesLinkedByTheLinkHeader()
    {
        using var api = NewUser();
        for (var i = 0; i < 5; i++)
        {
            await api.CreateConversationAsync();
        }

        var all = await IdsAsync(api, "api/conversations");
        Assert.Equal(5, all.Count);

        var paged = new List<string>();
        var pages = 0;
        string? next = "api/conversations?limit=2";
        while (next is not null)
        {
            var response = await api.Http.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList();
            Assert.InRange(page.Count, 1, 2);
            paged.AddRange(page);
            pages++;
            next = response.Headers.TryGetValues("Link", out var links) ? NextLink(links.Single()) : null;
        }

        Assert.Equal(3, pages);
        Assert.Equal(all, paged);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("limit=-1", "limit")]
    [InlineData("limit=1&limit=2", "limit")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("limit=2&cursor=", "cursor")]
    [InlineData("cursor=MTIzOmFiYw", "cursor")]
    public async Task BadPagingParametersAre400Problems(string query, string detailMentions)
    {
        using var api = NewUser();
        await api.CreateConversationAsync();

        var problem = await AssertProblemAsync(await api.Http.GetAsync($"api/conversations?{query}"), HttpStatusCode.BadRequest, detailMentions);

        Assert.Equal("Invalid query", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task SearchFindsTheCallersConversationsByTitleAndByMessageText()
    {
        using var api = NewUser();
        using var other = NewUser();
        var byTitle = await api.CreateConversationAsync();
        var byText = await api.CreateConversationAsync();
        foreach (var (id, question) in new[] { (byTitle, "Quorum reads in practice"), (byText, "Explain quorum writes") })
        {
            using var response = await api.SendAsync(id, question);
            Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
        }

        var renamed = new HttpRequestMessage(HttpMethod.Patch, $"api/conversations/{byText}") { Content = JsonContent.Create(new { title = "Database notes" }) };
        Assert.Equal(HttpStatusCode.OK, (await api.Http.SendAsync(renamed)).StatusCode);
        var theirs = await other.CreateConversationAsync();
        using (var response = await other.SendAsync(theirs, "Quorum for someone else"))
        {
            await StreamResult.ReadAsync(response);
        }

        var hits = (await api.GetJsonAsync("api/conversations?q=QUORUM")).EnumerateArray().ToList();

        Assert.Equal([byTitle, byText], hits.Select(h => h.GetProperty("id").GetString()));
        Assert.True(hits[0].GetProperty("titleMatches").GetBoolean());
        Assert.False(hits[1].GetProperty("titleMatches").GetBoolean());
        Assert.Equal("Database notes", hits[1].GetProperty("title").GetString());
        Assert.Contains("quorum", hits[1].GetProperty("snippet").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(SearchSnippet.Start, hits[1].GetProperty("snippet").GetString()!); // plain text in the API
        Assert.Single((await api.GetJsonAsync("api/conversations?q=quor%20writ")).EnumerateArray());
        Assert.Empty((await api.GetJsonAsync("api/conversations?q=quorum%20nonsenseword")).EnumerateArray());
        Assert.Single((await api.GetJsonAsync("api/conversations?q=quorum&limit=1")).EnumerateArray());
        Assert.Equal([theirs], (await other.GetJsonAsync("api/conversations?q=quorum")).EnumerateArray().Select(h => h.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("q=", "empty")]
    [InlineData("q=%20%20", "empty")]
    [InlineData("q=%21%3F%2A", "no words")]
    [InlineData("q=a&q=b", "once")]
    [InlineData("q=redis&limit=0", "limit")]
    [InlineData("q=redis&cursor=abc", "cursor")]
    public async Task BadSearchesAre400Problems(string query, string detailMentions)
    {
        using var api = NewUser();

        await AssertProblemAsync(await api.Http.GetAsync($"api/conversations?{query}"), HttpStatusCode.BadRequest, detailMentions);
    }

    [Fact]
    public async Task ASearchLongerThan200CharactersIsA400Problem()
    {
        using var api = NewUser();

        var problem = await AssertProblemAsync(await api.Http.GetAsync($"api/conversations?q={new string('x', 201)}"), HttpStatusCode.BadRequest, "longer than 200");

        Assert.Equal("Invalid query", problem.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.OK, (await api.Http.GetAsync($"api/conversations?q={new string('x', 200)}")).StatusCode);
    }

    /// <summary>The target of <c>&lt;…&gt;; rel="next"</c>, relative to the node.</summary>
    private static string NextLink(string header)
    {
        Assert.EndsWith("; rel=\"next\"", header);
        var target = header[(header.IndexOf('<') + 1)..header.IndexOf('>')];
        Assert.StartsWith("/api/conversations?", target);
        return target.TrimStart('/');
    }

    private static async Task<List<string>> IdsAsync(ChatApiClient api, string path) =>
        [.. (await api.GetJsonAsync(path)).EnumerateArray().Select(c => c.GetProperty("id").GetString()!)];

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailMentions)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(detailMentions, problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        return problem;
    }
}
