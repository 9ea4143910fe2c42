using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// Passkeys in Chromium with its virtual authenticator (DevTools WebAuthn domain: a CTAP2 platform authenticator
/// that keeps resident keys and verifies the user by itself): an account adds a passkey on /account, signs out,
/// chats anonymously, and signs in with the passkey alone, keeping that conversation. The node is opened as
/// <c>localhost</c>: WebAuthn refuses an IP address as the relying party's id.
/// </summary>
[Collection(SingleNodeCollection.Name)]
public sealed class PasskeyTests(SingleNodeFixture fixture) : BrowserTest<SingleNodeFixture>(fixture)
{
    [Fact]
    public async Task AnAccountAddsAPasskeySignsOutAndSignsInWithIt()
    {
        var url = Fixture.FastNode.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var cdp = await Page.Context.NewCDPSessionAsync(Page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });

        var name = $"sam.{Guid.NewGuid():N}"[..8]; // unique per run, and reads like a person in the screenshots
        await Page.GotoAsync(url + "/register");
        await Page.GetByTestId("register-username").FillAsync(name);
        await Page.GetByTestId("register-password").FillAsync("a long enough passphrase");
        await Page.GetByTestId("register-confirm").FillAsync("a long enough passphrase");
        await Page.GetByTestId("register-submit").ClickAsync();
        await Expect(Page.GetByTestId("account-menu")).ToHaveAttributeAsync("data-user", name);

        await Page.GotoAsync(url + "/account");
        await Expect(Page.GetByTestId("passkey-none")).ToBeVisibleAsync();
        await Page.GetByTestId("passkey-name").FillAsync("Test laptop");
        await Page.GetByTestId("passkey-add").ClickAsync();
        await Expect(Page.GetByTestId("passkey-changed")).ToBeVisibleAsync();
        await Expect(Page.GetByTestId("passkey-item")).ToHaveCountAsync(1);
        await Expect(Page.GetByTestId("passkey-item")).ToContainTextAsync("Test laptop");
        await SaveDesktopAndPhoneAsync(Page, "account-passkeys");

        await Page.GetByTestId("sign-out").ClickAsync();
        var chat = new ChatPage(Page, url);
        await chat.OpenAsync();
        await chat.SendAsync("Written before the passkey sign-in");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        await Page.GotoAsync(url + "/login");
        await Page.GetByTestId("passkey-login").ClickAsync();
        await Expect(Page.GetByTestId("account-menu")).ToHaveAttributeAsync("data-user", name);
        await Expect(chat.ConversationItems.Filter(new() { HasText = "Written before" })).ToHaveCountAsync(1);

        // Removed, the passkey no longer signs in.
        await Page.GotoAsync(url + "/account");
        await Page.GetByTestId("passkey-remove").ClickAsync();
        await Expect(Page.GetByTestId("passkey-none")).ToBeVisibleAsync();
        await Page.GetByTestId("sign-out").ClickAsync();
        await Page.GotoAsync(url + "/login");
        await Page.GetByTestId("passkey-login").ClickAsync();
        await Expect(Page.GetByTestId("login-error")).ToHaveAttributeAsync("data-kind", "passkey");
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
