using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>The admin dashboard of one node and its sign-in page: locators by the contract's <c>data-testid</c>s.</summary>
public sealed partial class AdminPage(IPage page, NodeProcess node)
{
    public IPage Page => page;

    public NodeProcess Node => node;

    public ILocator Username => page.GetByTestId("login-username");

    public ILocator Password => page.GetByTestId("login-password");

    public ILocator SignInButton => page.GetByTestId("login-submit");

    public ILocator TaskRows => page.GetByTestId("admin-task-row");

    public ILocator RedisStatus => page.GetByTestId("admin-redis-status");

    public ILocator Metrics => page.GetByTestId("admin-metrics");

    public ILocator NodeRows => page.GetByTestId("admin-node");

    public ILocator UsageLink => page.GetByTestId("admin-usage-link");

    public ILocator UsageTotalTokens => page.GetByTestId("usage-total-tokens");

    public ILocator UsageUserRows => page.GetByTestId("usage-user-row");

    public ILocator UsageModelRows => page.GetByTestId("usage-model-row");

    public ILocator UsageRange(string range) => page.GetByTestId($"usage-range-{range}");

    /// <summary>The row of one running task.</summary>
    public ILocator TaskRow(string taskId) => TaskRows.And(page.Locator($"[data-task-id='{taskId}']"));

    public ILocator CancelButton(string taskId) => TaskRow(taskId).GetByTestId("admin-cancel");

    /// <summary>Opens <c>/admin</c> as a signed-out visitor is sent to <c>/login</c>, signs in, lands on the dashboard.</summary>
    public async Task SignInAsync()
    {
        await page.GotoAsync(node.Url + "/admin");
        await Expect(page).ToHaveURLAsync(LoginUrl());

        await Username.FillAsync("admin");
        await Password.FillAsync(NodeProcess.AdminPassword);
        await SignInButton.ClickAsync();

        await Expect(page).ToHaveURLAsync(AdminUrl());
        await Expect(RedisStatus).ToBeVisibleAsync();
    }

    [GeneratedRegex(@"/login(\?|$)")]
    private static partial Regex LoginUrl();

    [GeneratedRegex(@"/admin$")]
    private static partial Regex AdminUrl();
}
