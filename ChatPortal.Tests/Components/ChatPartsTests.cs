using Bunit;
using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Generation;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace ChatPortal.Tests.Components;

/// <summary>The chat's small parts: the notice bar, the branch switcher, the question editor, the model picker, the instructions dialog.</summary>
public sealed class ChatPartsTests : ComponentTest
{
    private static readonly ModelEntry Fast = new("fast", "Fast model", ModelProvider.Simulated, null, null, null, 8192, null);
    private static readonly ModelEntry Smart = new("smart", "Smart model", ModelProvider.OpenAI, "http://model", "gpt", null, 128_000, null);

    private ChatNotices Notices => Services.GetRequiredService<ChatNotices>();

    [Fact]
    public void TheNoticeBarShowsTheLastProblemUntilItIsClosed()
    {
        var cut = Render<ChatNoticeBar>();
        Assert.Empty(cut.FindAll("[data-testid=chat-error]"));

        cut.InvokeAsync(() => Notices.Error("The database is away."));
        cut.InvokeAsync(() => Notices.Warn("Wait 3 s.", "limit"));

        var alert = cut.WaitForElement("[data-testid=chat-error]");
        Assert.Equal("limit", alert.GetAttribute("data-kind"));
        Assert.Contains("Wait 3 s.", alert.TextContent);
        Assert.DoesNotContain("database", alert.TextContent);
        Assert.Contains("mud-alert-text-warning", alert.ClassName);

        cut.Find(".mud-alert-close button").Click();

        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=chat-error]")));
        Assert.Null(Notices.Problem);
    }

    [Fact]
    public void AnErrorIsShownAsAnErrorAndAConfirmationAsAToastNotAnAlert()
    {
        var snackbars = Render<MudSnackbarProvider>();
        var cut = Render<ChatNoticeBar>();

        cut.InvokeAsync(() => Notices.Confirm("Copied to the clipboard"));
        snackbars.WaitForAssertion(() => Assert.Contains("Copied to the clipboard", snackbars.Markup));
        Assert.Empty(cut.FindAll("[data-testid=chat-error]"));

        cut.InvokeAsync(() => Notices.Error("The message could not be sent."));
        Assert.Contains("mud-alert-text-error", cut.WaitForElement("[data-testid=chat-error]").ClassName);
    }

    [Fact]
    public void AnEmptyConversationOffersSuggestionsAndAPickHandsOverItsQuestion()
    {
        var picked = new List<string>();
        var cut = Render<ChatMessageList>(p => p
            .Add(c => c.Messages, Array.Empty<ChatPortal.Core.Conversations.ChatMessage>())
            .Add(c => c.OnSuggest, (string prompt) => picked.Add(prompt)));

        var suggestions = cut.FindAll("[data-testid=suggestion]");
        Assert.Equal(ChatMessageList.Suggestions.Select(s => s.Title), suggestions.Select(b => b.QuerySelector(".cp-suggestion-title")!.TextContent));
        Assert.Equal(ChatMessageList.Suggestions.Select(s => s.Prompt), suggestions.Select(b => b.QuerySelector(".cp-suggestion-prompt")!.TextContent));
        Assert.Equal("Suggestions", cut.Find(".cp-suggestions").GetAttribute("aria-label"));

        suggestions[2].Click();

        Assert.Equal([ChatMessageList.Suggestions[2].Prompt], picked);
    }

    [Fact]
    public void WithoutAHandlerOrOnceThereAreMessagesThereAreNoSuggestions()
    {
        var cut = Render<ChatMessageList>(p => p.Add(c => c.Messages, Array.Empty<ChatPortal.Core.Conversations.ChatMessage>()));

        Assert.NotNull(cut.Find("[data-testid=empty-conversation]"));
        Assert.Empty(cut.FindAll("[data-testid=suggestion]"));

        var question = new ChatPortal.Core.Conversations.ChatMessage("q", ChatPortal.Core.Conversations.ChatRole.User, "Hi",
            ChatPortal.Core.Conversations.MessageStatus.Completed, DateTimeOffset.UnixEpoch);
        cut.Render(p => p.Add(c => c.Messages, new[] { question }).Add(c => c.OnSuggest, (string _) => { }));
        Assert.Empty(cut.FindAll("[data-testid=suggestion]"));
    }

    [Fact]
    public void TheBranchSwitcherStepsToItsNeighboursAndStopsAtTheEnds()
    {
        var chosen = new List<string>();
        var cut = Render<BranchSwitcher>(p => p
            .Add(c => c.Position, new BranchPosition(0, 3, null, "b"))
            .Add(c => c.OnSwitch, (string id) => chosen.Add(id)));

        Assert.Equal("1 / 3", cut.Find("[data-testid=branch-position]").TextContent);
        Assert.Equal("Version 1 of 3", cut.Find("[data-testid=branch-switcher]").GetAttribute("aria-label"));
        Assert.True(cut.Find("[data-testid=branch-previous]").HasAttribute("disabled"));
        cut.Find("[data-testid=branch-next]").Click();
        Assert.Equal(["b"], chosen);

        cut.Render(p => p.Add(c => c.Disabled, true));
        Assert.True(cut.Find("[data-testid=branch-next]").HasAttribute("disabled"));
    }

    [Fact]
    public void TheQuestionEditorSendsTheNewTextOnEnterAndCancelsOnEscape()
    {
        var sent = new List<string>();
        var cancelled = 0;
        var cut = Render<QuestionEditor>(p => p
            .Add(c => c.Text, "Old question")
            .Add(c => c.OnSend, (string text) => sent.Add(text))
            .Add(c => c.OnCancel, () => cancelled++));

        var input = cut.Find("[data-testid=question-edit-input]");
        Assert.Equal("Old question", input.GetAttribute("value"));
        input.Input("New question");
        cut.Find("[data-testid=question-edit-input]").KeyDown(new KeyboardEventArgs { Key = "Enter", ShiftKey = true });
        Assert.Empty(sent); // Shift+Enter is a new line
        cut.Find("[data-testid=question-edit-input]").KeyDown(new KeyboardEventArgs { Key = "Enter" });
        Assert.Equal(["New question"], sent);

        cut.Find("[data-testid=question-edit-input]").KeyDown(new KeyboardEventArgs { Key = "Escape" });
        Assert.Equal(1, cancelled);
    }

    [Fact]
    public void TheQuestionEditorDoesNotSendBlankText()
    {
        var sent = new List<string>();
        var cut = Render<QuestionEditor>(p => p
            .Add(c => c.Text, "Question")
            .Add(c => c.OnSend, (string text) => sent.Add(text))
            .Add(c => c.OnCancel, () => { }));

        cut.Find("[data-testid=question-edit-input]").Input("   ");

        Assert.True(cut.Find("[data-testid=question-edit-send]").HasAttribute("disabled"));
        cut.Find("[data-testid=question-edit-input]").KeyDown(new KeyboardEventArgs { Key = "Enter" });
        Assert.Empty(sent);
    }

    [Fact]
    public void TheModelPickerListsTheModelsMarksTheCurrentOneAndChoosesAnother()
    {
        var popovers = Render<MudPopoverProvider>();
        var chosen = new List<ModelEntry>();
        var cut = Render<ModelPicker>(p => p
            .Add(c => c.Models, new[] { Fast, Smart })
            .Add(c => c.Current, Fast)
            .Add(c => c.OnChoose, (ModelEntry m) => chosen.Add(m)));

        var button = cut.Find("[data-testid=model-picker]");
        Assert.Equal("Model: Fast model. Choose another model", button.GetAttribute("aria-label"));
        Assert.Equal("false", button.GetAttribute("aria-expanded"));
        button.Click();
        Assert.Equal("true", cut.Find("[data-testid=model-picker]").GetAttribute("aria-expanded"));

        var options = popovers.FindAll("[data-testid=model-option]");
        Assert.Equal(["true", "false"], options.Select(o => o.GetAttribute("aria-checked")));
        Assert.Contains("OpenAI-compatible · 125k context", options[1].TextContent);
        options[0].Click(); // the current one: nothing to change
        Assert.Empty(chosen);

        cut.Find("[data-testid=model-picker]").Click();
        popovers.FindAll("[data-testid=model-option]")[1].Click();
        Assert.Equal([Smart], chosen);
    }

    [Fact]
    public void ADisabledModelPickerDoesNotOpen()
    {
        var cut = Render<ModelPicker>(p => p
            .Add(c => c.Models, new[] { Fast, Smart })
            .Add(c => c.Current, Fast)
            .Add(c => c.Disabled, true)
            .Add(c => c.OnChoose, (ModelEntry _) => { }));

        Assert.True(cut.Find("[data-testid=model-picker]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task TheInstructionsDialogSavesTrimmedTextAndEmptyMeansTheDefault()
    {
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();

        var result = await ShowAsync(dialogs, provider, "Old", input => input.Input("  Be brief.  "), "instructions-save");
        Assert.Equal("Be brief.", Assert.IsType<InstructionsDialog.Result>(result.Data).Instructions);

        result = await ShowAsync(dialogs, provider, "Old", _ => provider.Find("[data-testid=instructions-default]").Click(), "instructions-save");
        Assert.Null(Assert.IsType<InstructionsDialog.Result>(result.Data).Instructions);

        result = await ShowAsync(dialogs, provider, "Old", input => input.Input("Ignored"), "instructions-cancel");
        Assert.True(result.Canceled);
    }

    private static async Task<DialogResult> ShowAsync(IDialogService dialogs, IRenderedComponent<MudDialogProvider> provider, string? instructions,
        Action<AngleSharp.Dom.IElement> edit, string button)
    {
        var parameters = new DialogParameters<InstructionsDialog>
        {
            { d => d.Instructions, instructions },
            { d => d.DefaultInstructions, "The default." },
        };
        var reference = await provider.InvokeAsync(() => dialogs.ShowAsync<InstructionsDialog>("Instructions", parameters));
        var input = provider.WaitForElement("textarea#cp-instructions-input");
        Assert.Equal(instructions, input.GetAttribute("value") ?? input.TextContent);
        Assert.Equal("The default.", input.GetAttribute("placeholder"));
        edit(input);
        provider.Find($"[data-testid={button}]").Click();
        return (await reference.Result)!;
    }
}
