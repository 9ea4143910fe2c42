using ChatPortal.Rendering;

namespace ChatPortal.Tests.Unit;

public sealed class OpenInlinesTests
{
    private readonly MarkdownRenderer _renderer = new();

    [Theory]
    [InlineData("Start with **Make", "Start with **Make**")]
    [InlineData("Start with **Make it ", "Start with **Make it**")]
    [InlineData("An *emph", "An *emph*")]
    [InlineData("An _emph", "An _emph_")]
    [InlineData("__strong", "__strong__")]
    [InlineData("~~gone", "~~gone~~")]
    [InlineData("**bold and *both", "**bold and *both***")]
    [InlineData("**done** then *open", "**done** then *open*")]
    [InlineData("Call `Stop", "Call `Stop`")]
    [InlineData("**Use `Stop", "**Use `Stop`**")]
    [InlineData("See [the docs](https://exa", "See the docs")]
    [InlineData("See [the **docs**](https://exa", "See the **docs**")]
    [InlineData("A picture ![a cat](https://ex", "A picture a cat")]
    [InlineData("See [the do", "See the do")]
    [InlineData("And now **", "And now")]
    [InlineData("And now `", "And now")]
    [InlineData("And **now *", "And **now**")]
    [InlineData("- one\n- **two", "- one\n- **two**")]
    [InlineData("> quoted **line\n> goes on", "> quoted **line\n> goes on**")]
    [InlineData("Done paragraph with 2 ** 3.\n\nThen **open", "Done paragraph with 2 ** 3.\n\nThen **open**")]
    public void WhatTheCutLeftOpenIsClosed(string cut, string closed) =>
        Assert.Equal(closed, OpenInlines.Close(cut));

    [Theory]
    [InlineData("Plain text.")]
    [InlineData("**Bold** and *emphasis* and `code` and [a link](https://example.com).")]
    [InlineData("2 * 3 = 6 and 4*5")]
    [InlineData("snake_case_name and a_b")]
    [InlineData("array[0] is first")]
    [InlineData("```python\nprint(\"**not closed\")")]
    [InlineData("Text\n\n    indented **code")]
    [InlineData("* a list item\n* another")]
    [InlineData("Escaped \\*\\* stars")]
    [InlineData("")]
    public void TextWithNothingOpenIsLeftAsItIs(string text) =>
        Assert.Equal(text, OpenInlines.Close(text));

    [Theory]
    [InlineData("Start with **Make", "<strong>Make</strong>")]
    [InlineData("Call `Stop", "<code>Stop</code>")]
    [InlineData("See [the docs](https://exa", "See the docs")]
    [InlineData("**bold and *both", "<strong>bold and <em>both</em></strong>")]
    public void AClosedCutRendersWithoutItsMarks(string cut, string html)
    {
        var rendered = _renderer.RenderBlocks(cut, partial: true);

        var joined = string.Concat(rendered.Blocks.Select(b => b.Value));
        Assert.Contains(html, joined);
        Assert.DoesNotContain("**", joined);
        Assert.DoesNotContain("`", joined);
        Assert.DoesNotContain("](", joined);
    }

    [Fact]
    public void OnlyTheLastOpenBlockIsClosedFinishedBlocksRenderAsWritten()
    {
        const string text = "A literal 2 ** 3 here.\n\nNow **Make";

        var rendered = string.Concat(_renderer.RenderBlocks(text, partial: true).Blocks.Select(b => b.Value));

        Assert.Contains("2 ** 3", rendered);
        Assert.Contains("<strong>Make</strong>", rendered);
    }

    [Fact]
    public void ACompleteAnswerIsRenderedExactlyAsWritten()
    {
        const string text = "Ends with **Make";

        Assert.Equal(_renderer.ToHtml(text), string.Concat(_renderer.RenderBlocks(text).Blocks.Select(b => b.Value)));
    }

    [Fact]
    public void StreamedPieceByPieceEveryStepShowsWhatTheStoppedAnswerWouldShow()
    {
        const string text = "Intro with **bold** text.\n\n- **Measure before tuning**; see [the table](https://example.com/t) and `Stop`.\n\n```csharp\nvar a = 1;\n```\n\nLast *words* here.";
        var streaming = new IncrementalMarkdown(_renderer, partial: true);

        for (var length = 1; length <= text.Length; length++)
        {
            var cut = text[..length];
            var live = string.Concat(streaming.Update(cut).Blocks.Select(b => b.Value));
            var stopped = string.Concat(_renderer.RenderBlocks(cut, partial: true).Blocks.Select(b => b.Value));
            Assert.Equal(stopped, live);
            Assert.DoesNotContain("**", live);
        }
    }
}
