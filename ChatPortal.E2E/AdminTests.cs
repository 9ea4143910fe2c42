using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// The admin dashboard on node-b watching and stopping what node-a generates, and showing Redis health live.
/// The admin is a browser context of its own; the chatting user is the test's first context.
/// </summary>
public sealed class AdminTests(ClusterFixture fixture) : ClusterTest(fixture)
{
    [Fact]
    public async Task AdminOnNodeBSeesATaskOfNodeAAppearLiveAndCancelsItWithOneClick()
    {
        var admin = new AdminPage(await NewUserAsync("admin"), Fixture.B);
        await admin.SignInAsync();
        await Expect(admin.NodeRows).ToHaveCountAsync(2);
        var chat = ChatOn(Fixture.A);
        await chat.OpenAsync();
        await MarkPageAsync(admin.Page);

        await chat.SendAsync("Cancel me from the dashboard");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        var taskId = await chat.LastAnswerTaskIdAsync();

        // Pushed to the dashboard on the other node: no reload.
        var row = admin.TaskRow(taskId);
        await Expect(row).ToBeVisibleAsync(new() { Timeout = 3_000 });
        await Expect(row).ToContainTextAsync(ClusterFixture.NodeAId);
        await chat.WaitForWordsAsync(8);

        await admin.CancelButton(taskId).ClickAsync();

        await Expect(row).ToHaveCountAsync(0, new() { Timeout = 3_000 });
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        await Expect(chat.StoppedMark).ToBeVisibleAsync();
        await Expect(chat.StopButton).ToHaveCountAsync(0);
        await Expect(admin.Page.GetByTestId("admin-recent-row").And(admin.Page.Locator($"[data-task-id='{taskId}']")))
            .ToHaveAttributeAsync("data-status", "cancelled");
        await ExpectSamePageAsync(admin.Page);

        // The dashboard under load: four answers on both nodes for more than two samples (one every 5 s).
        var user = await Page.Context.AsApiUserAsync();
        var started = new List<string>();
        foreach (var node in (NodeProcess[])[Fixture.A, Fixture.B, Fixture.A, Fixture.B])
        {
            using var api = user.On(node.Url);
            var conversation = await api.CreateConversationAsync();
            using var response = await api.SendAsync(conversation, $"Question {started.Count + 1} for the dashboard");
            started.Add(await ReadTaskIdAsync(response));
        }

        foreach (var id in started)
        {
            await Expect(admin.TaskRow(id)).ToBeVisibleAsync();
        }

        await Expect(admin.TaskRows).ToHaveCountAsync(4);
        await admin.Page.WaitForTimeoutAsync(12_000);
        await Expect(admin.Metrics.Locator(".cp-charts svg.mud-chart-line")).ToHaveCountAsync(2);
        await ExpectSamePageAsync(admin.Page);
        Screenshots.Publish(await Screenshots.SaveAsync(admin.Page, "admin-dashboard.png", growToContent: true), "admin.png");
    }

    [Fact]
    public async Task TheRedisCardTurnsRedWhenRedisDiesAndGreenWhenItIsBack()
    {
        var admin = new AdminPage(await NewUserAsync("admin"), Fixture.B);
        await admin.SignInAsync();
        var chat = ChatOn(Fixture.A);
        await chat.OpenAsync();
        await Expect(admin.RedisStatus).ToHaveAttributeAsync("data-status", "healthy");
        await Expect(chat.RedisBanner).ToHaveCountAsync(0);

        await Fixture.Redis.KillAsync();

        await Expect(admin.RedisStatus).ToHaveAttributeAsync("data-status", "down", new() { Timeout = 10_000 });
        await Expect(chat.RedisBanner).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Screenshots.SaveAsync(admin.Page, "admin-redis-down.png", growToContent: true);

        // The chat does not depend on Redis: it still answers, and Stop works on the node that writes.
        await chat.SendAsync("Are you still there without Redis?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "streaming");
        await chat.WaitForWordsAsync(5);
        await chat.StopButton.ClickAsync();
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });

        await Fixture.Redis.RestartAsync();

        await Expect(admin.RedisStatus).ToHaveAttributeAsync("data-status", "healthy", new() { Timeout = 15_000 });
        await Expect(chat.RedisBanner).ToHaveCountAsync(0, new() { Timeout = 15_000 });
    }

    /// <summary>Marks the page's JavaScript world; <see cref="ExpectSamePageAsync"/> fails if it was reloaded since.</summary>
    private static Task MarkPageAsync(IPage page) => page.EvaluateAsync("() => { window.__notReloaded = true; }");

    private static async Task ExpectSamePageAsync(IPage page) =>
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notReloaded === true"), "The dashboard was reloaded.");

    private static async Task<string> ReadTaskIdAsync(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, $"Sending answered {(int)response.StatusCode}");
        await using var stream = await response.Content.ReadAsStreamAsync();
        await foreach (var item in Sse.ReadAsync(stream))
        {
            if (item.Name == "task")
            {
                return item.Get("taskId") ?? throw new InvalidOperationException("A task event without an id.");
            }
        }

        throw new InvalidOperationException("The stream ended before its task event.");
    }
}
