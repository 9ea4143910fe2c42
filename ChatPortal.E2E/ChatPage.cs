using System.Text.Json;
using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// The chat page as one user sees it, on one node or through a balancer (<paramref name="baseUrl"/>): locators by the
/// contract's <c>data-testid</c>s.
/// </summary>
public sealed partial class ChatPage(IPage page, string baseUrl)
{
    public ChatPage(IPage page, NodeProcess node)
        : this(page, node.Url)
    {
    }

    public IPage Page => page;

    public ILocator ComposerInput => page.GetByTestId("composer-input");

    public ILocator SendButton => page.GetByTestId("send-button");

    public ILocator StopButton => page.GetByTestId("stop-button");

    public ILocator Messages => page.GetByTestId("message");

    public ILocator UserMessages => Messages.And(page.Locator("[data-role=user]"));

    public ILocator AssistantMessages => Messages.And(page.Locator("[data-role=assistant]"));

    /// <summary>The newest answer, streaming or stored.</summary>
    public ILocator LastAnswer => AssistantMessages.Last;

    /// <summary>The rendered Markdown of the newest answer (without its Stopped mark and buttons).</summary>
    public ILocator LastAnswerText => LastAnswer.Locator(".cp-markdown");

    public ILocator StoppedMark => LastAnswer.GetByTestId("stopped-mark");

    public ILocator ConversationItems => page.GetByTestId("conversation-item");

    public ILocator NewConversationButton => page.GetByTestId("new-conversation");

    /// <summary>The conversation list's search box.</summary>
    public ILocator ConversationSearch => page.GetByTestId("conversation-search");

    /// <summary>The list's headings: Today, Yesterday, Previous 7 days, Older (or the search's result count).</summary>
    public ILocator ConversationGroupHeadings => page.GetByTestId("conversation-group");

    public ILocator SearchResultsHeading => page.GetByTestId("search-results-heading");

    /// <summary>The inline field that renames a conversation.</summary>
    public ILocator RenameInput => page.GetByTestId("conversation-rename-input");

    public ILocator LoadMoreButton => page.GetByTestId("conversation-load-more");

    /// <summary>The Undo of the "Deleted …" notice.</summary>
    public ILocator UndoDeleteButton => page.GetByTestId("undo-delete");

    /// <summary>The message with this id (a question's id, or an answer's: its task id).</summary>
    public ILocator Message(string messageId) => Messages.And(page.Locator($"[data-message-id='{messageId}']"));

    /// <summary>"2 / 3" on a message with siblings.</summary>
    public static ILocator BranchPosition(ILocator message) => message.GetByTestId("branch-position");

    /// <summary>Shows the version before (or after) this message's.</summary>
    public static async Task SwitchBranchAsync(ILocator message, bool previous)
    {
        await message.HoverAsync();
        await message.GetByTestId(previous ? "branch-previous" : "branch-next").ClickAsync();
    }

    /// <summary>Edits a sent question in place and sends the new version (Enter).</summary>
    public async Task EditQuestionAsync(ILocator question, string text)
    {
        await question.HoverAsync();
        await question.GetByTestId("edit-button").ClickAsync();
        var input = page.GetByTestId("question-edit-input");
        await Expect(input).ToBeFocusedAsync();
        await input.FillAsync(text);
        await input.PressAsync("Enter");
    }

    /// <summary>The entry of one conversation in the list.</summary>
    public ILocator ConversationItem(string conversationId) =>
        ConversationItems.And(page.Locator($"[data-conversation-id='{conversationId}']"));

    /// <summary>Opens the "more" menu of one conversation of the list and picks <paramref name="action"/> (Rename, Delete).</summary>
    public async Task PickFromConversationMenuAsync(string conversationId, string action)
    {
        var row = page.Locator($".cp-conversation-row[data-conversation-id='{conversationId}']");
        await row.HoverAsync();
        await row.GetByTestId("conversation-menu").Locator("button").ClickAsync();
        await page.GetByRole(AriaRole.Menuitem, new() { Name = action }).ClickAsync();
    }

    public ILocator EmptyConversation => page.GetByTestId("empty-conversation");

    public ILocator NodeName => page.GetByTestId("node-name");

    public ILocator ThemeToggle => page.GetByTestId("theme-toggle");

    public ILocator RedisBanner => page.GetByTestId("redis-banner");

    /// <summary>The dialog shown while the page's live connection is down, paused or moving to another node.</summary>
    public ILocator ReconnectModal => page.GetByTestId("reconnect-modal");

    /// <summary>The phone layout's button that opens and closes the conversation list.</summary>
    public ILocator SidebarToggle => page.GetByTestId("sidebar-toggle");

    /// <summary>The polite live region that says when an answer starts and ends.</summary>
    public ILocator AnswerAnnouncer => page.GetByTestId("answer-announcer");

    /// <summary>The code blocks of the newest answer (header with language and copy button, then the code).</summary>
    public ILocator LastAnswerCodeBlocks => LastAnswer.Locator(".cp-code");

    /// <summary>The composer's model picker (its button; <c>data-model-id</c> is the conversation's model).</summary>
    public ILocator ModelPicker => page.GetByTestId("model-picker");

    /// <summary>The models of the picker's menu, once it is open.</summary>
    public ILocator ModelOptions => page.GetByTestId("model-option");

    public ILocator InstructionsButton => page.GetByTestId("instructions-button");

    public ILocator InstructionsDialog => page.GetByTestId("instructions-dialog");

    public ILocator InstructionsInput => InstructionsDialog.Locator("textarea");

    public ILocator InstructionsSave => page.GetByTestId("instructions-save");

    public ILocator InstructionsDefault => page.GetByTestId("instructions-default");

    /// <summary>The error line above the composer (<c>data-kind="quota"</c> when the daily quota refused a message).</summary>
    public ILocator ChatError => page.GetByTestId("chat-error");

    public ILocator ConversationTitle => page.GetByTestId("conversation-title");

    /// <summary>What the newest answer took: model, tokens, pace.</summary>
    public ILocator LastAnswerUsage => LastAnswer.GetByTestId("answer-usage");

    /// <summary>Opens the picker and chooses the model with this display name.</summary>
    public async Task ChooseModelAsync(string name)
    {
        await ModelPicker.ClickAsync();
        await ModelOptions.Filter(new() { HasText = name }).ClickAsync();
        await Expect(ModelPicker).ToContainTextAsync(name);
    }

    /// <summary>The id in <c>/c/{id}</c> of the current URL.</summary>
    public string ConversationId => ConversationUrl().Match(page.Url) is { Success: true } match
        ? match.Groups[1].Value
        : throw new InvalidOperationException($"Not on a conversation: {page.Url}");

    /// <summary>Opens <c>/</c>, which lands on a conversation, and waits until the composer is ready.</summary>
    public async Task OpenAsync()
    {
        await page.GotoAsync(baseUrl + "/");
        await Expect(page).ToHaveURLAsync(ConversationUrl());
        await WaitUntilReadyAsync();
    }

    /// <summary>Opens <c>/c/{id}</c> on this node and waits until the composer is ready.</summary>
    public async Task OpenAsync(string conversationId)
    {
        await page.GotoAsync($"{baseUrl}/c/{conversationId}");
        await WaitUntilReadyAsync();
    }

    /// <summary>Loaded and interactive: the composer focuses the text area once it is wired up and enabled.</summary>
    public async Task WaitUntilReadyAsync()
    {
        await Expect(ComposerInput).ToBeEnabledAsync();
        await Expect(ComposerInput).ToBeFocusedAsync();
    }

    /// <summary>Types a message and presses Enter, as a user does.</summary>
    public async Task SendAsync(string text)
    {
        await ComposerInput.FillAsync(text);
        await ComposerInput.PressAsync("Enter");
        await Expect(UserMessages.Last).ToContainTextAsync(text);
    }

    /// <summary>Waits until the newest answer shows at least <paramref name="count"/> words.</summary>
    public async Task WaitForWordsAsync(int count, float timeoutMs = 15_000)
    {
        await Expect(LastAnswerText).ToHaveTextAsync(AtLeastWords(count), new() { Timeout = timeoutMs });
    }

    public async Task<string> LastAnswerTextAsync() => await LastAnswerText.InnerTextAsync();

    /// <summary>The words the newest answer shows now.</summary>
    public async Task<IReadOnlyList<string>> LastAnswerWordsAsync() => Words(await LastAnswerTextAsync());

    /// <summary>The id of the task writing the newest answer (an answer's message id is its task id).</summary>
    public async Task<string> LastAnswerTaskIdAsync() =>
        await LastAnswer.GetAttributeAsync("data-message-id") ?? throw new InvalidOperationException("The answer has no id.");

    /// <summary><c>GET /api/conversations/{id}</c> with the browser's cookies: the same user.</summary>
    public async Task<JsonElement> GetConversationAsync()
    {
        var response = await page.APIRequest.GetAsync($"{baseUrl}/api/conversations/{ConversationId}");
        Assert.True(response.Ok, $"GET conversation answered {response.Status}");
        return (await response.JsonAsync()) ?? throw new InvalidOperationException("Empty conversation JSON.");
    }

    /// <summary>The words of a text, letters and digits only: rendered Markdown and its source compare equal.</summary>
    public static IReadOnlyList<string> Words(string text) => Word().Matches(text).Select(m => m.Value).ToList();

    /// <summary>The words a reader sees of stored Markdown: a code fence's language name is not shown.</summary>
    public static IReadOnlyList<string> VisibleWordsOfMarkdown(string markdown) => Words(FenceInfo().Replace(markdown, ""));

    /// <summary>Matched in the browser (a JavaScript regex without the u flag): ASCII words, as the simulated model writes.</summary>
    private static Regex AtLeastWords(int count) => new($"^[^A-Za-z0-9]*(?:[A-Za-z0-9]+[^A-Za-z0-9]+){{{count - 1},}}[A-Za-z0-9]");

    [GeneratedRegex(@"/c/([^/?#]+)$")]
    private static partial Regex ConversationUrl();

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Word();

    [GeneratedRegex(@"```[^\n]*")]
    private static partial Regex FenceInfo();
}
