using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPortal.Testing;
using Microsoft.Data.Sqlite;

namespace ChatPortal.E2E;

/// <summary>
/// Setting up what a test shows, as the user the page is (its cookies): conversations made through the API, and their
/// age written straight into a single node's SQLite file (nothing in the product can make a conversation older).
/// </summary>
public static class NodeDatabase
{
    /// <summary>A conversation with a title, through <c>POST</c> and <c>PATCH /api/conversations</c> as the page's user.</summary>
    public static async Task<string> CreateConversationAsync(IPage page, NodeProcess node, string title)
    {
        // A safe request first: it gives a new user the identity cookie, as the page's first load would.
        Assert.True((await page.APIRequest.GetAsync($"{node.Url}/api/conversations?limit=1")).Ok);
        var created = await page.APIRequest.PostAsync($"{node.Url}/api/conversations");
        Assert.True(created.Ok, $"POST /api/conversations answered {created.Status}");
        var id = (await created.JsonAsync())!.Value.GetProperty("id").GetString()!;
        var renamed = await page.APIRequest.PatchAsync($"{node.Url}/api/conversations/{id}", new() { DataObject = new { title } });
        Assert.True(renamed.Ok, $"PATCH /api/conversations/{id} answered {renamed.Status}");
        return id;
    }

    /// <summary>A history like a user's, for screenshots: a list of one looks like a demo.</summary>
    public static readonly IReadOnlyList<(string Title, double DaysAgo)> TypicalHistory =
    [
        ("Explain Raft leader election", 12),
        ("Regex for ISO 8601 dates", 9),
        ("Flaky Playwright test on CI", 4),
        ("Grafana alert for p99 latency", 1.2),
        ("Rename the orders table safely", 0.05),
    ];

    /// <summary>Older conversations of the page's user, each last updated some days ago (under its date heading).</summary>
    public static async Task SeedHistoryAsync(IPage page, NodeProcess node, IEnumerable<(string Title, double DaysAgo)>? history = null)
    {
        foreach (var (title, daysAgo) in history ?? TypicalHistory)
        {
            var id = await CreateConversationAsync(page, node, title);
            await SetUpdatedAgoAsync(node, id, TimeSpan.FromDays(daysAgo));
        }
    }

    /// <summary>Makes a conversation look last updated <paramref name="ago"/> before now.</summary>
    public static async Task SetUpdatedAgoAsync(NodeProcess node, string conversationId, TimeSpan ago)
    {
        var at = (DateTime.UtcNow - ago).ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(node.DataDirectory, "chatportal.db")};Pooling=False;Default Timeout=15");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE conversations SET updated_at = $at WHERE id = $id";
        command.Parameters.AddWithValue("$at", at);
        command.Parameters.AddWithValue("$id", conversationId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    /// <summary><c>GET</c> a path of the API as the page's user: its status, and its JSON when it has some.</summary>
    public static async Task<(int Status, JsonElement? Json)> GetAsync(IPage page, NodeProcess node, string path)
    {
        var response = await page.APIRequest.GetAsync($"{node.Url}/{path.TrimStart('/')}");
        return (response.Status, response.Ok ? await response.JsonAsync() : null);
    }
}
