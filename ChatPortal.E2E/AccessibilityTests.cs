using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;

namespace ChatPortal.E2E;

/// <summary>axe on the key pages (no serious or critical violation), the live region, and the keyboard.</summary>
[Collection(SingleNodeCollection.Name)]
public sealed class AccessibilityTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task EscStopsTheRunningAnswerAndTheLiveRegionSaysSo()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("Explain what Esc does here");
        await Expect(chat.AnswerAnnouncer).ToHaveTextAsync("Writing an answer…");
        await chat.WaitForWordsAsync(6);
        await Expect(chat.ComposerInput).ToBeFocusedAsync(); // sending leaves the focus in the composer

        await Page.Keyboard.PressAsync("Escape");

        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 3_000 });
        await Expect(chat.StopButton).ToHaveCountAsync(0);
        await Expect(chat.StoppedMark).ToBeVisibleAsync();
        var result = await Page.RunAxe();
        Assert.DoesNotContain(result.Violations, v => v.Impact is "serious" or "critical"); // the Stopped mark too
        await Expect(chat.AnswerAnnouncer).ToHaveTextAsync("Answer stopped");
        await Expect(chat.AnswerAnnouncer).ToHaveAttributeAsync("aria-live", "polite");
        await Expect(chat.ComposerInput).ToBeFocusedAsync();
    }

    [Fact]
    public async Task TheChatPageHasNoSeriousAccessibilityViolationsInLightOrDark()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await AssertNoSeriousViolationsAsync("empty chat");

        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.AnswerAnnouncer).ToHaveTextAsync("Answer complete");
        await Expect(chat.LastAnswerCodeBlocks.First).ToBeVisibleAsync();
        await AssertNoSeriousViolationsAsync("chat, light");

        await chat.ThemeToggle.ClickAsync();
        await Expect(Page.Locator("body")).ToHaveCSSAsync("background-color", "rgb(11, 17, 32)");
        await AssertNoSeriousViolationsAsync("chat, dark");

        await Page.SetViewportSizeAsync(390, 844);
        await chat.SidebarToggle.ClickAsync();
        await Expect(chat.ConversationItems.First).ToBeVisibleAsync();
        await AssertNoSeriousViolationsAsync("chat, phone, drawer open");
    }

    [Fact]
    public async Task TheSignInPageAndTheDashboardHaveNoSeriousAccessibilityViolations()
    {
        var admin = new AdminPage(Page, Fixture.FastNode);
        await Page.GotoAsync(Fixture.FastNode.Url + "/login");
        await Expect(admin.SignInButton).ToBeVisibleAsync();
        await AssertNoSeriousViolationsAsync("/login");

        await admin.SignInAsync();
        await Expect(admin.RedisStatus).ToBeVisibleAsync();
        await AssertNoSeriousViolationsAsync("/admin");

        await Page.GetByTestId("theme-toggle").ClickAsync();
        await Expect(Page.Locator("body")).ToHaveCSSAsync("background-color", "rgb(11, 17, 32)");
        await AssertNoSeriousViolationsAsync("/admin, dark");
    }

    [Fact]
    public async Task EveryButtonOnTheChatPageHasAName()
    {
        var chat = ChatOn(Fixture.FastNode);
        await chat.OpenAsync();
        await chat.SendAsync("Name every button");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        var unnamed = await Page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('button, a[href], [role=button]')]
                .filter(e => !(e.getAttribute('aria-label') || e.textContent).trim())
                .map(e => e.outerHTML.slice(0, 120))
            """);
        Assert.Empty(unnamed);
    }

    private async Task AssertNoSeriousViolationsAsync(string where)
    {
        var result = await Page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"axe on {where}:\n" + string.Join('\n', serious.Select(Describe)));
    }

    private static string Describe(AxeResultItem violation) =>
        $"{violation.Impact} {violation.Id}: {violation.Help}\n" +
        string.Join('\n', violation.Nodes.Take(5).Select(n =>
            $"    {n.Html}\n      {string.Join(" | ", n.Any.Concat(n.All).Concat(n.None).Select(c => c.Message))}"));
}
