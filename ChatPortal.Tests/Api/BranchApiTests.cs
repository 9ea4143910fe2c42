using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Api;

/// <summary>The branch calls of docs/API.md: edit a question, write an answer again, switch versions; parentId and siblingIds.</summary>
public sealed class BranchApiTests(ConversationListApiTests.Node node) : IClassFixture<ConversationListApiTests.Node>
{
    [Fact]
    public async Task EditingAQuestionStreamsAnAnswerOnANewBranchAndTheOldOneIsASibling()
    {
        using var api = node.Server.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        await SendAsync(api, id, "First question");
        await SendAsync(api, id, "Second question");
        var before = Messages(await api.GetConversationAsync(id));
        Assert.Equal([null, before[0].Id, before[1].Id, before[2].Id], before.Select(m => m.ParentId));
        Assert.All(before, m => Assert.Equal([m.Id], m.SiblingIds));

        using var response = await api.PostStreamAsync($"api/conversations/{id}/messages/{before[2].Id}/edit", JsonContent.Create(new { text = "Second question, better" }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await StreamResult.ReadAsync(response);
        Assert.Equal("completed", stream.Status);
        var after = Messages(await api.GetConversationAsync(id));
        Assert.Equal(["First question", before[1].Content, "Second question, better", stream.Text], after.Select(m => m.Content));
        Assert.Equal(before[1].Id, after[2].ParentId);
        Assert.Equal([before[2].Id, after[2].Id], after[2].SiblingIds);
        Assert.Equal(stream.TaskId, after[3].Id);
    }

    [Fact]
    public async Task RegeneratingAnAnswerKeepsItAndSwitchingShowsEitherVersion()
    {
        using var api = node.Server.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        await SendAsync(api, id, "Tell me about fencing tokens");
        var original = Messages(await api.GetConversationAsync(id));

        using (var response = await api.PostStreamAsync($"api/conversations/{id}/messages/{original[1].Id}/regenerate", new StringContent("")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
        }

        var regenerated = Messages(await api.GetConversationAsync(id));
        Assert.Equal(2, regenerated.Count);
        Assert.NotEqual(original[1].Id, regenerated[1].Id);
        Assert.Equal([original[1].Id, regenerated[1].Id], regenerated[1].SiblingIds);

        var switched = await api.Http.PutAsJsonAsync($"api/conversations/{id}/branch", new { messageId = original[1].Id });

        Assert.Equal(HttpStatusCode.OK, switched.StatusCode);
        var shown = Messages(await switched.Content.ReadFromJsonAsync<JsonElement>());
        Assert.Equal(original[1].Id, shown[1].Id);
        Assert.Equal(original[1].Content, shown[1].Content);
        Assert.Equal(original[1].Id, Messages(await api.GetConversationAsync(id))[1].Id);
    }

    [Fact]
    public async Task BadBranchCallsAreProblemsAndChangeNothing()
    {
        using var api = node.Server.ClientFor(new ChatUser());
        using var mallory = node.Server.ClientFor(new ChatUser());
        var id = await api.CreateConversationAsync();
        await SendAsync(api, id, "Only question");
        var messages = Messages(await api.GetConversationAsync(id));
        var (question, answer) = (messages[0].Id, messages[1].Id);

        await AssertProblemAsync(await api.PostStreamAsync($"api/conversations/{id}/messages/{answer}/edit", JsonContent.Create(new { text = "x" })), HttpStatusCode.NotFound, "no question");
        await AssertProblemAsync(await api.PostStreamAsync($"api/conversations/{id}/messages/{question}/regenerate", new StringContent("")), HttpStatusCode.NotFound, "no answer");
        await AssertProblemAsync(await api.PostStreamAsync($"api/conversations/{id}/messages/nothing/edit", JsonContent.Create(new { text = "x" })), HttpStatusCode.NotFound, "no question");
        await AssertProblemAsync(await api.PostStreamAsync($"api/conversations/{id}/messages/{question}/edit", JsonContent.Create(new { text = "  " })), HttpStatusCode.BadRequest, "empty");
        await AssertProblemAsync(await mallory.PostStreamAsync($"api/conversations/{id}/messages/{question}/edit", JsonContent.Create(new { text = "mine" })), HttpStatusCode.NotFound, "conversation");
        await AssertProblemAsync(await api.Http.PutAsJsonAsync($"api/conversations/{id}/branch", new { messageId = "nothing" }), HttpStatusCode.NotFound, "message");
        await AssertProblemAsync(await api.Http.PutAsJsonAsync($"api/conversations/{id}/branch", new { messageId = 42 }), HttpStatusCode.BadRequest, "messageId");
        await AssertProblemAsync(await api.Http.PutAsync($"api/conversations/{id}/branch", new StringContent("not json")), HttpStatusCode.BadRequest, "messageId");
        await AssertProblemAsync(await mallory.Http.PutAsJsonAsync($"api/conversations/{id}/branch", new { messageId = question }), HttpStatusCode.NotFound, "conversation");

        var unchanged = Messages(await api.GetConversationAsync(id));
        Assert.Equal(messages.Select(m => m.Id), unchanged.Select(m => m.Id));
        Assert.All(unchanged, m => Assert.Single(m.SiblingIds));
    }

    private sealed record Message(string Id, string? ParentId, string Content, IReadOnlyList<string> SiblingIds);

    private static List<Message> Messages(JsonElement conversation) =>
        [.. conversation.GetProperty("messages").EnumerateArray().Select(m => new Message(
            m.GetProperty("id").GetString()!,
            m.GetProperty("parentId").GetString(),
            m.GetProperty("content").GetString()!,
            [.. m.GetProperty("siblingIds").EnumerateArray().Select(s => s.GetString()!)]))];

    private static async Task<string> SendAsync(ChatApiClient api, string id, string text)
    {
        using var response = await api.SendAsync(id, text);
        var result = await StreamResult.ReadAsync(response);
        Assert.Equal("completed", result.Status);
        return result.Text;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailMentions)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detailMentions, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
    }
}
