using ChatPortal.Testing;
using Deque.AxeCore.Playwright;

namespace ChatPortal.E2E;

/// <summary>"Sign in with …" in a browser: through the test provider's own sign-in form and back to the chat.</summary>
[Collection(OidcCollection.Name)]
public sealed class ExternalSignInTests(OidcFixture fixture) : BrowserTest<OidcFixture>(fixture)
{
    private ILocator SignInButton => Page.GetByTestId("external-login");

    [Fact]
    public async Task SigningInThroughTheProviderLandsOnTheChatWithTheConversationsOfThisBrowser()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("Remember this question after I sign in");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var conversation = chat.ConversationId;

        await Page.GotoAsync($"{Fixture.Node.Url}/login");
        await Expect(SignInButton).ToHaveTextAsync($"Sign in with {OidcFixture.DisplayName}");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "login-oidc.png"), "login-oidc.png");
        Fixture.Provider.Interactive = true;
        try
        {
            await SignInButton.ClickAsync();
            await Expect(Page.GetByTestId("oidc-signin")).ToBeVisibleAsync();
            Assert.StartsWith(Fixture.Provider.Issuer + "/authorize", Page.Url);
            await Page.GetByTestId("oidc-subject").FillAsync("e2e-dana");
            await Page.GetByTestId("oidc-email").FillAsync("dana@example.test");
            await Page.GetByTestId("oidc-name").FillAsync("Dana");
            await Page.GetByTestId("oidc-signin").ClickAsync();
        }
        finally
        {
            Fixture.Provider.Interactive = false;
        }

        // Back on the chat, signed in to the account the first sign-in made: the conversation of this browser came along.
        await Page.WaitForURLAsync($"{Fixture.Node.Url}/**");
        await chat.WaitUntilReadyAsync();
        await Expect(Page.GetByTestId("account-menu")).ToHaveAttributeAsync("data-user", "dana@example.test");
        await Expect(chat.ConversationItems).ToHaveCountAsync(1);
        await Expect(chat.ConversationItem(conversation)).ToBeVisibleAsync();

        // Her account page names the provider instead of a password form.
        await Page.GetByTestId("account-menu").ClickAsync();
        await Expect(Page.GetByTestId("external-account")).ToContainTextAsync($"You sign in with {OidcFixture.DisplayName}");
        await Expect(Page.GetByTestId("password-current")).ToHaveCountAsync(0);
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "account-oidc.png"), "account-oidc.png");

        // Dana in another browser is the same user.
        var other = await NewUserAsync("dana-elsewhere");
        Fixture.Provider.User = new OidcTestUser("e2e-dana", "dana@example.test", "Dana");
        try
        {
            await other.GotoAsync($"{Fixture.Node.Url}/login");
            await other.GetByTestId("external-login").ClickAsync();
            await other.WaitForURLAsync($"{Fixture.Node.Url}/**");
            var otherChat = new ChatPage(other, Fixture.Node);
            await otherChat.WaitUntilReadyAsync();
            await Expect(otherChat.ConversationItem(conversation)).ToBeVisibleAsync();
            await Expect(other.GetByTestId("account-menu")).ToHaveAttributeAsync("data-user", "dana@example.test");
        }
        finally
        {
            Fixture.Provider.User = OidcTestUser.Alice;
        }

        // The admin finds the account on the users page (one, whichever browser signed in) and can make it an admin.
        var admin = new AdminPage(await NewUserAsync("admin"), Fixture.Node);
        await admin.SignInAsync();
        await admin.Page.GetByTestId("admin-users-link").ClickAsync();
        var row = admin.Page.Locator("tr:has([data-user='dana@example.test'])");
        await Expect(row).ToHaveCountAsync(1);
        await row.Locator("input[type=checkbox]").ClickAsync();
        await Expect(admin.Page.GetByText("dana@example.test is an admin now.")).ToBeVisibleAsync();
        await Expect(row.Locator("input[type=checkbox]")).ToBeCheckedAsync();
    }

    [Fact]
    public async Task TheSignUpPageOffersTheProviderToo()
    {
        await Page.GotoAsync($"{Fixture.Node.Url}/register");
        await Expect(SignInButton).ToHaveTextAsync($"Sign in with {OidcFixture.DisplayName}");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "sign-up-oidc.png"), "sign-up-oidc.png");
        await Page.SetViewportSizeAsync(390, 844);
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "sign-up-oidc-phone.png"), "sign-up-oidc-phone.png");
        await AssertNoSeriousViolationsAsync("/register with a provider, phone");
    }

    [Fact]
    public async Task TheSignInPageWithTheProviderFitsAPhoneWithNoSeriousAccessibilityViolations()
    {
        await Page.SetViewportSizeAsync(390, 844);
        await Page.GotoAsync($"{Fixture.Node.Url}/login");
        await Expect(SignInButton).ToBeVisibleAsync();

        var box = await SignInButton.BoundingBoxAsync();
        Assert.NotNull(box);
        Assert.True(box.X >= 0 && box.X + box.Width <= 390, "The button fits the phone's width.");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "login-oidc-phone.png"), "login-oidc-phone.png");
        await AssertNoSeriousViolationsAsync("/login with a provider, phone");
    }

    [Fact]
    public async Task ADeclinedSignInComesBackToTheSignInPageWithAMessage()
    {
        await Page.GotoAsync($"{Fixture.Node.Url}/login");
        Fixture.Provider.Interactive = true;
        try
        {
            await SignInButton.ClickAsync();
            await Page.GetByTestId("oidc-deny").ClickAsync();
        }
        finally
        {
            Fixture.Provider.Interactive = false;
        }

        await Expect(Page.GetByTestId("external-login-error")).ToBeVisibleAsync();
        await Expect(Page.GetByTestId("external-login-error")).ToContainTextAsync($"Sign-in with {OidcFixture.DisplayName} did not complete");
        Assert.EndsWith("/login?external=failed", Page.Url);
        await AssertNoSeriousViolationsAsync("/login after a declined sign-in");
    }

    private async Task AssertNoSeriousViolationsAsync(string where)
    {
        var result = await Page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"axe on {where}:\n" + string.Join('\n', serious.Select(v => $"{v.Impact} {v.Id}: {v.Help} {string.Join(" ", v.Nodes.Take(3).Select(n => n.Html))}")));
    }
}
