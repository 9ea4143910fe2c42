using Bunit;
using ChatPortal.Components.Pages.Chat;
using Microsoft.AspNetCore.Components.Web;

namespace ChatPortal.Tests.Components;

public sealed class ChatComposerTests : ComponentTest
{
    private readonly List<string> _sent = [];
    private int _stops;

    [Fact]
    public void SendIsShownWhenNoAnswerRuns()
    {
        var cut = RenderComposer(isGenerating: false);

        Assert.Single(cut.FindAll("[data-testid=send-button]"));
        Assert.Empty(cut.FindAll("[data-testid=stop-button]"));
    }

    [Fact]
    public void StopIsShownInsteadOfSendWhileAnAnswerRuns()
    {
        var cut = RenderComposer(isGenerating: true);

        Assert.Single(cut.FindAll("[data-testid=stop-button]"));
        Assert.Empty(cut.FindAll("[data-testid=send-button]"));
    }

    [Fact]
    public void StopTurnsBackIntoSendWhenTheAnswerEnds()
    {
        var cut = RenderComposer(isGenerating: true);

        cut.Render(p => p.Add(c => c.IsGenerating, false));

        Assert.Single(cut.FindAll("[data-testid=send-button]"));
        Assert.Empty(cut.FindAll("[data-testid=stop-button]"));
    }

    [Fact]
    public void EnterSendsTheTextAndClearsTheBox()
    {
        var cut = RenderComposer(isGenerating: false);
        var input = cut.Find("[data-testid=composer-input]");

        input.Input("Hello there");
        input.KeyDown(new KeyboardEventArgs { Key = "Enter" });

        Assert.Equal(["Hello there"], _sent);
        Assert.Equal("", cut.Instance.Text);
        Assert.Equal("", cut.Find("[data-testid=composer-input]").GetAttribute("value") ?? "");
    }

    [Fact]
    public void ShiftEnterDoesNotSend()
    {
        var cut = RenderComposer(isGenerating: false);
        var input = cut.Find("[data-testid=composer-input]");

        input.Input("First line");
        input.KeyDown(new KeyboardEventArgs { Key = "Enter", ShiftKey = true });

        Assert.Empty(_sent);
        Assert.Equal("First line", cut.Instance.Text);
    }

    [Fact]
    public void EnterWhileComposingAnImeWordDoesNotSend()
    {
        var cut = RenderComposer(isGenerating: false);
        var input = cut.Find("[data-testid=composer-input]");

        input.Input("にほん");
        input.KeyDown(new KeyboardEventArgs { Key = "Enter", IsComposing = true });

        Assert.Empty(_sent);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\n\t ")]
    public void BlankTextDoesNotSend(string text)
    {
        var cut = RenderComposer(isGenerating: false);
        var input = cut.Find("[data-testid=composer-input]");

        input.Input(text);
        input.KeyDown(new KeyboardEventArgs { Key = "Enter" });

        Assert.Empty(_sent);
        Assert.True(cut.Find("[data-testid=send-button]").HasAttribute("disabled"));
    }

    [Fact]
    public void TheSendButtonSendsTheText()
    {
        var cut = RenderComposer(isGenerating: false);
        cut.Find("[data-testid=composer-input]").Input("Via the button");

        Assert.False(cut.Find("[data-testid=send-button]").HasAttribute("disabled"));
        cut.Find("[data-testid=send-button]").Click();

        Assert.Equal(["Via the button"], _sent);
        Assert.Equal("", cut.Instance.Text);
    }

    [Fact]
    public void EnterWhileAnAnswerRunsDoesNotSendAndKeepsTheText()
    {
        var cut = RenderComposer(isGenerating: true);
        var input = cut.Find("[data-testid=composer-input]");

        input.Input("Next question");
        input.KeyDown(new KeyboardEventArgs { Key = "Enter" });

        Assert.Empty(_sent);
        Assert.Equal("Next question", cut.Instance.Text);
    }

    [Fact]
    public void StopInvokesOnStop()
    {
        var cut = RenderComposer(isGenerating: true);

        cut.Find("[data-testid=stop-button]").Click();

        Assert.Equal(1, _stops);
        Assert.Empty(_sent);
    }

    [Fact]
    public void StopIsDisabledWhileStopping()
    {
        var cut = RenderComposer(isGenerating: true, stopping: true);

        Assert.True(cut.Find("[data-testid=stop-button]").HasAttribute("disabled"));
    }

    [Fact]
    public void ADisabledComposerDoesNotSend()
    {
        var cut = RenderComposer(isGenerating: false, disabled: true);
        var input = cut.Find("[data-testid=composer-input]");

        Assert.True(input.HasAttribute("disabled"));
        input.Input("Too early");
        input.KeyDown(new KeyboardEventArgs { Key = "Enter" });

        Assert.Empty(_sent);
    }

    [Fact]
    public void AfterSendingTheFocusGoesBackToTheTextArea()
    {
        var module = JSInterop.SetupModule("./Components/Pages/Chat/ChatComposer.razor.js");
        var cut = RenderComposer(isGenerating: false);
        var focusesBefore = module.Invocations["focus"].Count;

        cut.Find("[data-testid=composer-input]").Input("Hello");
        cut.Find("[data-testid=send-button]").Click();

        Assert.Equal(["Hello"], _sent);
        Assert.Equal(focusesBefore + 1, module.Invocations["focus"].Count);
    }

    [Fact]
    public void AfterStopTheFocusGoesBackToTheTextArea()
    {
        var module = JSInterop.SetupModule("./Components/Pages/Chat/ChatComposer.razor.js");
        var cut = RenderComposer(isGenerating: true);
        var focusesBefore = module.Invocations["focus"].Count;

        cut.Find("[data-testid=stop-button]").Click();

        Assert.Equal(1, _stops);
        Assert.Equal(focusesBefore + 1, module.Invocations["focus"].Count);
    }

    [Fact]
    public void EveryButtonHasAnAccessibleName()
    {
        foreach (var generating in new[] { false, true })
        {
            var cut = RenderComposer(isGenerating: generating);

            Assert.All(cut.FindAll("button"), b => Assert.False(string.IsNullOrWhiteSpace(b.GetAttribute("aria-label")), b.OuterHtml));
            Assert.Equal("Message", cut.Find("[data-testid=composer-input]").GetAttribute("aria-label"));
        }
    }

    [Fact]
    public async Task ARefusedMessageIsPutBackUnlessSomethingNewWasTyped()
    {
        var cut = RenderComposer(isGenerating: false);

        await cut.InvokeAsync(() => cut.Instance.Restore("Send me tomorrow"));
        Assert.Equal("Send me tomorrow", cut.Find("[data-testid=composer-input]").GetAttribute("value"));

        cut.Find("[data-testid=composer-input]").Input("Something new");
        await cut.InvokeAsync(() => cut.Instance.Restore("Older text"));
        Assert.Equal("Something new", cut.Instance.Text);
    }

    private IRenderedComponent<ChatComposer> RenderComposer(bool isGenerating, bool stopping = false, bool disabled = false) =>
        Render<ChatComposer>(p => p
            .Add(c => c.IsGenerating, isGenerating)
            .Add(c => c.Stopping, stopping)
            .Add(c => c.Disabled, disabled)
            .Add(c => c.OnSend, (string text) => _sent.Add(text))
            .Add(c => c.OnStop, () => _stops++));
}
