using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>The model picker, a conversation's instructions, the usage under answers and on the admin page, and the daily quota, in a browser.</summary>
[Collection(ModelsCollection.Name)]
public sealed partial class ModelsTests(ModelsFixture fixture) : BrowserTest<ModelsFixture>(fixture)
{
    [Fact]
    public async Task ThePickerChoosesTheConversationsModelAndEachAnswerSaysWhichModelWroteIt()
    {
        var chat = ChatOn(Fixture.Node);
        await NodeDatabase.SeedHistoryAsync(Page, Fixture.Node); // the screenshots show a user's history beside the chat
        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(chat.ModelPicker).ToHaveAttributeAsync("data-model-id", "simulated");
        await Expect(chat.ModelPicker).ToContainTextAsync("Simulated");

        await chat.SendAsync("How do I stop a running answer on another node?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.LastAnswerUsage).ToHaveAttributeAsync("data-estimated", "false");
        await Expect(chat.LastAnswerUsage).ToContainTextAsync("Simulated");
        await Expect(chat.LastAnswerUsage).ToContainTextAsync(ReportedTokens());

        // From the keyboard: Enter opens it on the chosen model, arrows move, Escape closes and gives the focus back.
        await chat.ModelPicker.FocusAsync();
        await Page.Keyboard.PressAsync("Enter");
        await Expect(chat.ModelPicker).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(chat.ModelOptions.Filter(new() { HasText = "Simulated" })).ToBeFocusedAsync();
        await Expect(chat.ModelOptions.Filter(new() { HasText = "Simulated" })).ToHaveAttributeAsync("aria-checked", "true");
        await Page.Keyboard.PressAsync("ArrowDown");
        await Expect(chat.ModelOptions.Filter(new() { HasText = "Showcase" })).ToBeFocusedAsync();
        await Page.Keyboard.PressAsync("Escape");
        await Expect(chat.ModelOptions.First).ToBeHiddenAsync();
        await Expect(chat.ModelPicker).ToBeFocusedAsync();
        await Expect(chat.ModelPicker).ToHaveAttributeAsync("data-model-id", "simulated");

        await chat.ModelPicker.ClickAsync();
        await Expect(chat.ModelOptions).ToHaveCountAsync(2);
        await Expect(chat.ModelOptions.Last).ToBeVisibleAsync();
        await Expect(chat.ModelOptions.Filter(new() { HasText = "Showcase" })).ToContainTextAsync("OpenAI-compatible");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "model-picker.png"), "model-picker.png");
        await chat.ModelOptions.Filter(new() { HasText = "Showcase" }).ClickAsync();
        await Expect(chat.ModelPicker).ToHaveAttributeAsync("data-model-id", "showcase");

        await chat.SendAsync("And show me the steps as a table");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.LastAnswer.Locator("table")).ToBeVisibleAsync();
        await Expect(chat.LastAnswerUsage).ToContainTextAsync("Showcase");
        await Expect(chat.LastAnswerUsage).ToHaveAttributeAsync("data-estimated", "true"); // this server reports no usage
        await Expect(chat.LastAnswerUsage).ToContainTextAsync("(estimated)");
        await Expect(chat.AssistantMessages.First.GetByTestId("answer-model")).ToHaveTextAsync("Simulated");
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "chat-models.png"), "models-chat.png");

        // Stored with the conversation: a reload keeps it; a new conversation starts on the default.
        var conversation = await chat.GetConversationAsync();
        Assert.Equal("showcase", conversation.GetProperty("model").GetString());
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.ModelPicker).ToHaveAttributeAsync("data-model-id", "showcase");
        var first = chat.ConversationId;
        await chat.NewConversationButton.ClickAsync();
        await Expect(Page).Not.ToHaveURLAsync(new Regex(first));
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(chat.ModelPicker).ToHaveAttributeAsync("data-model-id", "simulated");
    }

    [Fact]
    public async Task InstructionsAreEditedFromTheHeaderAndKeptWithTheConversation()
    {
        var chat = ChatOn(Fixture.Node);
        await NodeDatabase.SeedHistoryAsync(Page, Fixture.Node);
        await chat.OpenAsync();
        await chat.NewConversationButton.ClickAsync();
        await Expect(chat.EmptyConversation).ToBeVisibleAsync();
        await Expect(chat.InstructionsButton).ToHaveAttributeAsync("data-custom", "false");

        await chat.InstructionsButton.ClickAsync();
        await Expect(chat.InstructionsDialog).ToBeVisibleAsync();
        await Expect(chat.InstructionsInput).ToHaveAttributeAsync("placeholder", new Regex("helpful assistant"));
        await chat.InstructionsInput.FillAsync("You are a ship's navigator. Answer in nautical terms, briefly.");
        await Expect(chat.InstructionsDefault).ToBeEnabledAsync(); // the server has the text: the counter and "Use default" follow it
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "instructions-dialog.png"), "instructions.png");
        await chat.InstructionsSave.ClickAsync();

        await Expect(chat.InstructionsDialog).ToHaveCountAsync(0);
        await Expect(chat.InstructionsButton).ToHaveAttributeAsync("data-custom", "true");
        Assert.Equal("You are a ship's navigator. Answer in nautical terms, briefly.", (await chat.GetConversationAsync()).GetProperty("instructions").GetString());

        // Kept across a reload, shown again for editing; "Use default" goes back to the configured prompt.
        await Page.ReloadAsync();
        await chat.WaitUntilReadyAsync();
        await Expect(chat.InstructionsButton).ToHaveAttributeAsync("data-custom", "true");
        await chat.InstructionsButton.ClickAsync();
        await Expect(chat.InstructionsInput).ToHaveValueAsync("You are a ship's navigator. Answer in nautical terms, briefly.");
        await chat.InstructionsDefault.ClickAsync();
        await chat.InstructionsSave.ClickAsync();
        await Expect(chat.InstructionsButton).ToHaveAttributeAsync("data-custom", "false");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await chat.GetConversationAsync()).GetProperty("instructions").ValueKind);
    }

    [Fact]
    public async Task InstructionsAndPickerFitAPhone()
    {
        await Page.SetViewportSizeAsync(390, 844);
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await Expect(chat.ModelPicker).ToBeVisibleAsync();
        await Expect(chat.InstructionsButton).ToBeVisibleAsync();
        await chat.SendAsync("What does the quota count?");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        await Expect(chat.LastAnswerUsage).ToBeVisibleAsync();

        // Nothing sticks out sideways.
        Assert.True(await Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));
        // What the answer took fits on one line under its buttons.
        var usageLines = await chat.LastAnswerUsage.EvaluateAsync<double>("u => u.getBoundingClientRect().height / parseFloat(getComputedStyle(u).lineHeight)");
        Assert.True(usageLines < 1.5, $"The usage line wraps onto {usageLines:0.0} lines at 390 px: " + await chat.LastAnswerUsage.EvaluateAsync<string>("u => [...u.children].map(c => c.textContent.trim() + ' ' + Math.round(c.getBoundingClientRect().width) + ' ' + getComputedStyle(c).display).join(' | ') + ' of ' + u.getBoundingClientRect().width"));
        await chat.ModelPicker.ClickAsync();
        await Expect(chat.ModelOptions.Last).ToBeVisibleAsync();
        Screenshots.Publish(await Screenshots.SaveAsync(Page, "model-picker-phone.png"), "model-picker-phone.png");
        await Page.Keyboard.PressAsync("Escape");
        await Expect(chat.ModelOptions.First).ToBeHiddenAsync();

        await chat.InstructionsButton.ClickAsync();
        await Expect(chat.InstructionsDialog).ToBeVisibleAsync();
        await Screenshots.SaveAsync(Page, "instructions-dialog-phone.png");
    }

    [Fact]
    public async Task TheAdminUsagePageShowsTokensByUserAndByModelWithCharts()
    {
        var chat = ChatOn(Fixture.Node);
        await chat.OpenAsync();
        await chat.SendAsync("Count my tokens");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");
        var conversation = await chat.GetConversationAsync();
        var usage = conversation.GetProperty("messages")[1].GetProperty("usage");
        var tokens = usage.GetProperty("inputTokens").GetInt32() + usage.GetProperty("outputTokens").GetInt32();

        // Two more users over the API: one on the Showcase model, one who also stops an answer.
        await UseAsync(new ChatUser(), "showcase", "Show me the steps as a table", "And the shell command?");
        await UseAsync(new ChatUser(), null, "What is a fencing token?");
        await StopOneAsync(new ChatUser());

        var admin = new AdminPage(await NewUserAsync("admin"), Fixture.Node);
        await admin.SignInAsync();
        await admin.UsageLink.ClickAsync();
        await Expect(admin.Page).ToHaveURLAsync(new Regex("/admin/usage$"));

        await Expect(admin.UsageTotalTokens).ToBeVisibleAsync();
        Assert.True(long.Parse(await admin.UsageTotalTokens.GetAttributeAsync("data-tokens") ?? "0") >= tokens);
        await Expect(admin.UsageModelRows.Filter(new() { HasText = "Simulated" })).ToHaveCountAsync(1);
        Assert.True(await admin.UsageUserRows.CountAsync() >= 1);
        await Expect(admin.Page.GetByTestId("usage-chart-days").Locator("svg")).ToBeVisibleAsync();
        await Expect(admin.Page.GetByTestId("usage-chart-users").Locator("svg")).ToBeVisibleAsync();

        await Expect(admin.UsageModelRows.Filter(new() { HasText = "Showcase" })).ToHaveCountAsync(1);
        Assert.True(await admin.UsageUserRows.CountAsync() >= 4);
        Assert.True(int.Parse(await admin.Page.GetByTestId("usage-total-stopped").Locator(".cp-stat-value").InnerTextAsync()) >= 1);

        await admin.UsageRange("30d").ClickAsync();
        await Expect(admin.Page.GetByTestId("usage-totals")).ToHaveAttributeAsync("data-range", "30d");
        await admin.UsageRange("today").ClickAsync();
        await Expect(admin.Page.GetByTestId("usage-totals")).ToHaveAttributeAsync("data-range", "today");
        await admin.UsageRange("7d").ClickAsync();
        await Expect(admin.Page.GetByTestId("usage-totals")).ToHaveAttributeAsync("data-range", "7d");
        Screenshots.Publish(await Screenshots.SaveAsync(admin.Page, "admin-usage.png", growToContent: true), "usage.png");

        await admin.Page.SetViewportSizeAsync(390, 844);
        await Expect(admin.UsageTotalTokens).ToBeVisibleAsync();

        // A table too wide for a phone scrolls inside its card and fades at its right edge; one that fits does not fade.
        var fades = await admin.Page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('.cp-admin-table .mud-table-container')]
                .map(c => (c.scrollWidth > c.clientWidth ? 'wide ' : 'fits ') + getComputedStyle(c).getPropertyValue('--cp-fade-end').trim())
            """);
        Assert.Contains("wide 48px", fades);
        Assert.All(fades, fade => Assert.True(fade is "wide 48px" or "fits 0px", string.Join(", ", fades)));
        Screenshots.Publish(await Screenshots.SaveAsync(admin.Page, "admin-usage-phone.png", growToContent: true), "usage-phone.png");
    }

    [Fact]
    public async Task WhenTheDailyQuotaIsReachedTheChatSaysWhyAndStoresNothing()
    {
        var chat = ChatOn(Fixture.QuotaNode);
        await chat.OpenAsync();
        await chat.SendAsync("Use my tokens for today");
        await Expect(chat.LastAnswer).ToHaveAttributeAsync("data-status", "completed");

        await chat.ComposerInput.FillAsync("One more, please");
        await chat.ComposerInput.PressAsync("Enter");

        await Expect(chat.ChatError).ToHaveAttributeAsync("data-kind", "quota");
        await Expect(chat.ChatError).ToContainTextAsync($"of your {ModelsFixture.TokensPerDay} tokens for today");
        await Expect(chat.ChatError).ToContainTextAsync("resets at midnight UTC");
        await Expect(chat.UserMessages).ToHaveCountAsync(1);
        await Expect(chat.AssistantMessages).ToHaveCountAsync(1);
        await Expect(chat.ComposerInput).ToHaveValueAsync("One more, please"); // not lost: it can be sent tomorrow
        await Screenshots.SaveAsync(Page, "quota-reached.png");

        // The API says the same, with a 429.
        var response = await Page.APIRequest.PostAsync($"{Fixture.QuotaNode.Url}/api/conversations/{chat.ConversationId}/messages",
            new() { DataObject = new { text = "and through the API?" } });
        Assert.Equal(429, response.Status);
        Assert.Contains("tokens for today", await response.TextAsync());
    }

    /// <summary>Questions from another user over the API, on <paramref name="model"/> (null: the default), each answered in full.</summary>
    private async Task UseAsync(ChatUser user, string? model, params string[] questions)
    {
        using var api = user.On(Fixture.Node.BaseAddress);
        var id = await api.CreateConversationAsync();
        foreach (var question in questions)
        {
            using var response = await api.PostStreamAsync($"api/conversations/{id}/messages", System.Net.Http.Json.JsonContent.Create(new { text = question, model }));
            Assert.Equal("completed", (await StreamResult.ReadAsync(response)).Status);
        }
    }

    /// <summary>An answer another user stops after its first words.</summary>
    private async Task StopOneAsync(ChatUser user)
    {
        using var api = user.On(Fixture.Node.BaseAddress);
        var id = await api.CreateConversationAsync();
        using var response = await api.SendAsync(id, "Tell me everything, I will stop you");
        string? taskId = null;
        var stopped = false;
        var stream = await StreamResult.ReadAsync(response, async item =>
        {
            taskId ??= item.Get("taskId");
            if (item.Name == "delta" && !stopped)
            {
                stopped = true;
                (await api.CancelAsync(taskId!)).Dispose();
            }
        });
        Assert.Equal("cancelled", stream.Status);
    }

    /// <summary>"12 in · 60 out" without the estimate's "~".</summary>
    [GeneratedRegex(@"(^|[^~])\d[\d,]* in · \d[\d,]* out")]
    private static partial Regex ReportedTokens();
}
