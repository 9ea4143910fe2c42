using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Api;

/// <summary><c>GET /api/conversations/{id}/export</c> on one node over a real Kestrel port.</summary>
public sealed class ConversationExportApiTests(ConversationListApiTests.Node node) : IClassFixture<ConversationListApiTests.Node>
{
    [Fact]
    public async Task MarkdownIsAnAttachmentNamedAfterTheTitleWithEveryMessageInOrder()
    {
        using var api = node.Server.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        var answer = await AskAsync(api, id, "Compare Raft and Paxos");

        var response = await api.Http.GetAsync($"api/conversations/{id}/export?format=markdown");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/markdown", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        var disposition = response.Content.Headers.ContentDisposition!;
        Assert.Equal("attachment", disposition.DispositionType);
        Assert.Equal("Compare-Raft-and-Paxos.md", disposition.FileNameStar ?? disposition.FileName?.Trim('"'));
        var markdown = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("# Compare Raft and Paxos\n", markdown);
        Assert.Contains("2 messages", markdown);
        var you = markdown.IndexOf("**You** · ", StringComparison.Ordinal);
        var assistant = markdown.IndexOf("**Assistant** · ", StringComparison.Ordinal);
        Assert.True(you > 0 && assistant > you, markdown);
        Assert.Contains("\n\nCompare Raft and Paxos\n", markdown[you..assistant]);
        Assert.Contains(answer.TrimEnd(), markdown[assistant..]);

        // Without a format, Markdown.
        var plain = await api.Http.GetAsync($"api/conversations/{id}/export");
        Assert.Equal("text/markdown", plain.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task JsonHoldsTheConversationAndItsMessagesAsTheApiShowsThem()
    {
        using var api = node.Server.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        var answer = await AskAsync(api, id, "Summarise CAP");

        var response = await api.Http.GetAsync($"api/conversations/{id}/export?format=JSON");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.EndsWith("Summarise-CAP.json", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var document = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, document.GetProperty("id").GetString());
        Assert.Equal("Summarise CAP", document.GetProperty("title").GetString());
        Assert.True(document.TryGetProperty("exportedAt", out _));
        var messages = document.GetProperty("messages").EnumerateArray().ToList();
        var shown = (await api.GetConversationAsync(id)).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(shown.Select(m => m.GetProperty("id").GetString()), messages.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["user", "assistant"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(["Summarise CAP", answer], messages.Select(m => m.GetProperty("content").GetString()));
        Assert.Equal(messages[0].GetProperty("id").GetString(), messages[1].GetProperty("parentId").GetString());
        Assert.Equal(JsonValueKind.Null, messages[0].GetProperty("parentId").ValueKind);
        Assert.Equal("completed", messages[1].GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("format=pdf")]
    [InlineData("format=")]
    [InlineData("format=json&format=markdown")]
    public async Task AnUnknownFormatIsA400Problem(string query)
    {
        using var api = node.Server.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();

        var response = await api.Http.GetAsync($"api/conversations/{id}/export?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("markdown, json", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AnotherUsersOrAnUnknownOrADeletedConversationIs404()
    {
        using var alice = node.Server.ClientFor(new ChatUser());
        using var mallory = node.Server.ClientFor(new ChatUser());
        var id = await alice.CreateConversationAsync();
        await AskAsync(alice, id, "Private notes");

        Assert.Equal(HttpStatusCode.NotFound, (await mallory.Http.GetAsync($"api/conversations/{id}/export?format=json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.GetAsync("api/conversations/0123456789abcdef01234567/export")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.Http.DeleteAsync($"api/conversations/{id}")).StatusCode);
        var deleted = await alice.Http.GetAsync($"api/conversations/{id}/export?format=markdown");
        Assert.Equal(HttpStatusCode.NotFound, deleted.StatusCode);
        Assert.Equal("application/problem+json", deleted.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<string> AskAsync(ChatApiClient api, string id, string question)
    {
        using var response = await api.SendAsync(id, question);
        var result = await StreamResult.ReadAsync(response);
        Assert.Equal("completed", result.Status);
        return result.Text;
    }
}
