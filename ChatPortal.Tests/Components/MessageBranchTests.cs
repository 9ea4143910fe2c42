using Bunit;
using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Components;

/// <summary>The thread's branches: "&lt; 2 / 3 &gt;" on messages with siblings, and editing a sent question.</summary>
public sealed class MessageBranchTests : ComponentTest
{
    private static readonly DateTimeOffset Now = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    // Q1 → (A1, A1b, A1c); Q1 has a sibling Q1b with its answer B1.
    private static readonly ChatMessage Q1 = Message("q1", ChatRole.User, "Question", null);
    private static readonly ChatMessage A1 = Message("a1", ChatRole.Assistant, "First answer", "q1");
    private static readonly ChatMessage A1b = Message("a1b", ChatRole.Assistant, "Second answer", "q1");
    private static readonly ChatMessage Q1b = Message("q1b", ChatRole.User, "Question, edited", null);
    private static readonly ChatMessage B1 = Message("b1", ChatRole.Assistant, "Answer to the edit", "q1b");
    private static readonly ChatMessage A1c = Message("a1c", ChatRole.Assistant, "Third answer", "q1");
    private static readonly ConversationTree Tree = new([Q1, A1, A1b, Q1b, B1, A1c]);

    [Fact]
    public void MessagesWithSiblingsShowTheirPositionAndStepToTheirNeighbours()
    {
        var switched = new List<string>();
        var cut = RenderList([Q1, A1b], onSwitch: switched.Add);

        var question = Item(cut, "q1");
        Assert.Equal("1 / 2", question.QuerySelector("[data-testid=branch-position]")!.TextContent);
        Assert.True(question.QuerySelector("[data-testid=branch-previous]")!.HasAttribute("disabled"));
        var answer = Item(cut, "a1b");
        Assert.Equal("2 / 3", answer.QuerySelector("[data-testid=branch-position]")!.TextContent);
        Assert.Equal("Version 2 of 3", answer.QuerySelector("[data-testid=branch-switcher]")!.GetAttribute("aria-label"));

        answer.QuerySelector("[data-testid=branch-previous]")!.Click();
        Item(cut, "a1b").QuerySelector("[data-testid=branch-next]")!.Click();
        Item(cut, "q1").QuerySelector("[data-testid=branch-next]")!.Click();

        Assert.Equal(["a1", "a1c", "q1b"], switched);
    }

    [Fact]
    public void AMessageWithoutSiblingsHasNoSwitcher()
    {
        var cut = RenderList([Q1b, B1], onSwitch: _ => { });

        Assert.Single(cut.FindAll("[data-testid=branch-switcher]")); // only the question: "2 / 2"
        Assert.Empty(Item(cut, "b1").QuerySelectorAll("[data-testid=branch-switcher]"));
        Assert.Equal("2 / 2", Item(cut, "q1b").QuerySelector("[data-testid=branch-position]")!.TextContent);
    }

    [Fact]
    public void WhileAnAnswerIsWrittenNothingCanBeSwitchedOrEdited()
    {
        var cut = Render<ChatMessageList>(p => p
            .Add(c => c.Messages, new[] { Q1 })
            .Add(c => c.Tree, Tree)
            .Add(c => c.Streaming, new StreamingAnswer("task", Now))
            .Add(c => c.OnSwitchBranch, (string _) => { })
            .Add(c => c.OnEdit, (QuestionEdit _) => { }));

        var question = Item(cut, "q1");
        Assert.True(question.QuerySelector("[data-testid=branch-next]")!.HasAttribute("disabled"));
        Assert.Empty(question.QuerySelectorAll("[data-testid=edit-button]"));
    }

    [Fact]
    public void EditingAQuestionSendsTheNewTextAsAVersionBesideIt()
    {
        var edits = new List<QuestionEdit>();
        var cut = RenderList([Q1, A1], onEdit: edits.Add);

        Item(cut, "q1").QuerySelector("[data-testid=edit-button]")!.Click();
        var input = cut.Find("[data-testid=question-edit-input]");
        Assert.Equal("Question", input.GetAttribute("value") ?? input.TextContent);
        Assert.NotNull(input.GetAttribute("data-own-escape"));
        Assert.Empty(Item(cut, "q1").QuerySelectorAll(".cp-user-text"));
        input.Input("Question, sharper");
        input.KeyDown("Enter");

        Assert.Equal([new QuestionEdit("q1", "Question, sharper")], edits);
        Assert.Empty(cut.FindAll("[data-testid=question-editor]"));
        Assert.Equal("Question", Item(cut, "q1").QuerySelector(".cp-user-text")!.TextContent);
    }

    [Fact]
    public void EscCancelAndAnUnchangedOrBlankTextSendNothing()
    {
        var edits = new List<QuestionEdit>();
        var cut = RenderList([Q1, A1], onEdit: edits.Add);

        Item(cut, "q1").QuerySelector("[data-testid=edit-button]")!.Click();
        cut.Find("[data-testid=question-edit-input]").KeyDown("Escape");
        Assert.Empty(cut.FindAll("[data-testid=question-editor]"));

        Item(cut, "q1").QuerySelector("[data-testid=edit-button]")!.Click();
        cut.Find("[data-testid=question-edit-cancel]").Click();
        Assert.Empty(cut.FindAll("[data-testid=question-editor]"));

        Item(cut, "q1").QuerySelector("[data-testid=edit-button]")!.Click();
        cut.Find("[data-testid=question-edit-input]").KeyDown("Enter"); // unchanged
        Item(cut, "q1").QuerySelector("[data-testid=edit-button]")!.Click();
        cut.Find("[data-testid=question-edit-input]").Input("   ");
        Assert.True(cut.Find("[data-testid=question-edit-send]").HasAttribute("disabled"));
        cut.Find("[data-testid=question-edit-input]").KeyDown("Enter");

        Assert.Empty(edits);
        Assert.Empty(Item(cut, "a1").QuerySelectorAll("[data-testid=edit-button]")); // answers are regenerated, not edited
    }

    private IRenderedComponent<ChatMessageList> RenderList(ChatMessage[] path, Action<string>? onSwitch = null, Action<QuestionEdit>? onEdit = null) =>
        Render<ChatMessageList>(p =>
        {
            p.Add(c => c.Messages, path).Add(c => c.Tree, Tree);
            if (onSwitch is not null)
            {
                p.Add(c => c.OnSwitchBranch, onSwitch);
            }

            if (onEdit is not null)
            {
                p.Add(c => c.OnEdit, onEdit);
            }
        });

    private static AngleSharp.Dom.IElement Item(IRenderedComponent<ChatMessageList> cut, string id) =>
        cut.Find($"[data-testid=message][data-message-id='{id}']");

    private static ChatMessage Message(string id, ChatRole role, string text, string? parentId) =>
        new(id, role, text, MessageStatus.Completed, Now, ParentId: parentId);
}
