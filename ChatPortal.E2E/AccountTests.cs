using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// Accounts in the browser: an anonymous user chats, signs up and keeps the conversation; signs out and back in;
/// the admin grants them the admin role on the users page. Screenshots of sign-in, sign-up and the users page at
/// desktop and phone size.
/// </summary>
[Collection(SingleNodeCollection.Name)]
public sealed class AccountTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task AnAnonymousUserSignsUpKeepsTheirConversationSignsInAgainAndIsMadeAnAdmin()
    {
        var node = Fixture.FastNode;
        var chat = ChatOn(node);
        await chat.OpenAsync();
        await chat.SendAsync("Remember this conversation");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.ConversationItems).ToHaveCountAsync(1);

        await Page.GetByTestId("sign-in-link").ClickAsync();
        await Expect(Page.GetByTestId("login-username")).ToBeVisibleAsync();
        await SaveDesktopAndPhoneAsync(Page, "sign-in");
        await Page.GetByTestId("register-link").ClickAsync();
        var name = $"maria.{Guid.NewGuid():N}"[..10]; // unique per run, and reads like a person in the screenshots
        await Page.GetByTestId("register-username").FillAsync(name);
        await SaveDesktopAndPhoneAsync(Page, "sign-up");
        await Page.GetByTestId("register-password").FillAsync("a long enough passphrase");
        await Page.GetByTestId("register-confirm").FillAsync("a long enough passphrase");
        await Page.GetByTestId("register-submit").ClickAsync();

        await Expect(Page.GetByTestId("account-menu")).ToHaveAttributeAsync("data-user", name);
        await Expect(chat.ConversationItems).ToHaveCountAsync(1);
        await Expect(chat.ConversationItems.First).ToContainTextAsync("Remember");

        await Page.GetByTestId("account-menu").ClickAsync();
        await Page.GetByTestId("sign-out").ClickAsync();
        await Expect(Page.GetByTestId("sign-in-link")).ToBeVisibleAsync();
        await Expect(chat.ConversationItems.Filter(new() { HasText = "Remember" })).ToHaveCountAsync(0); // a new anonymous user
        await Page.GetByTestId("sign-in-link").ClickAsync();
        await Page.GetByTestId("login-username").FillAsync(name);
        await Page.GetByTestId("login-password").FillAsync("a long enough passphrase");
        await Page.GetByTestId("login-submit").ClickAsync();
        await Expect(Page.GetByTestId("account-menu")).ToHaveAttributeAsync("data-user", name);
        await Expect(chat.ConversationItems.Filter(new() { HasText = "Remember" })).ToHaveCountAsync(1);

        var admin = new AdminPage(await NewUserAsync("admin"), node);
        await admin.SignInAsync();
        await admin.Page.GetByTestId("admin-users-link").ClickAsync();
        var row = admin.Page.Locator($"tr:has([data-user='{name}'])");
        var toggle = row.Locator("input[type=checkbox]");
        await Expect(toggle).Not.ToBeCheckedAsync();
        await toggle.ClickAsync();
        await Expect(admin.Page.GetByText($"{name} is an admin now.")).ToBeVisibleAsync(); // the server's word, not the switch's
        await Expect(toggle).ToBeCheckedAsync();
        await row.GetByTestId("reset-link-button").ClickAsync();
        await Expect(admin.Page.GetByText($"Reset link for {name}")).ToBeVisibleAsync();
        await Expect(admin.Page.Locator(".mud-alert input")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("/reset-password\\?user=.+&token=.+"));
        await SaveDesktopAndPhoneAsync(admin.Page, "admin-users");

        // The new admin's open session gets the role at its next check (Accounts:SessionRevalidationSeconds); a new
        // sign-in has it at once.
        await Page.GotoAsync(node.Url + "/account");
        await Page.GetByTestId("sign-out").ClickAsync();
        await Page.GotoAsync(node.Url + "/admin");
        await Page.GetByTestId("login-username").FillAsync(name);
        await Page.GetByTestId("login-password").FillAsync("a long enough passphrase");
        await Page.GetByTestId("login-submit").ClickAsync();
        await Expect(Page.GetByTestId("admin-redis-status")).ToBeVisibleAsync();
    }

    private static async Task SaveDesktopAndPhoneAsync(IPage page, string name)
    {
        await page.SetViewportSizeAsync(1280, 800);
        Screenshots.Publish(await Screenshots.SaveAsync(page, name + ".png"), name + ".png");
        await page.SetViewportSizeAsync(390, 844);
        Screenshots.Publish(await Screenshots.SaveAsync(page, name + "-phone.png"), name + "-phone.png");
        await page.SetViewportSizeAsync(1280, 800);
    }
}
