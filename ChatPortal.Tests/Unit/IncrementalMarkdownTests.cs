using ChatPortal.Core.Generation;
using ChatPortal.Rendering;

namespace ChatPortal.Tests.Unit;

public sealed class IncrementalMarkdownTests
{
    private readonly MarkdownRenderer _renderer = new();

    public static TheoryData<string> Samples => new()
    {
        "Intro paragraph.\n\n- one\n- two\n\nAfter the list.\n",
        "A loose list:\n\n- one\n\n- two\n\n  continued in the item\n\n- three\n\nDone.",
        "1. first\n\n2. second\n\n10) tenth\n\nEnd",
        "Code:\n\n```csharp\nvar a = 1;\n\n\nvar b = 2;\n```\n\nAfter the code.\n\n~~~\nx\n\n```\nstill code\n~~~\n\nEnd.",
        "```\nopen fence\n\n    ```\n\nstill inside\n```\n\nout",
        "- item\n\n  ```js\n  let a = 1;\n\n  let b = 2;\n  ```\n\nafter",
        "Indented code:\n\n    line one\n\n    line two\n\nText.",
        "See [the docs][d] and [more][m].\n\n[d]: https://example.com/d\n\n[m]: javascript:alert(1)\n",
        "Title\n=====\n\nSub\n---\n\n> quote\n\n> another\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nTail",
        "Windows\r\n\r\nline endings\r\n\r\n```\r\ncode\r\n\r\nmore\r\n```\r\n\r\nend",
        "***\n\n* * *\n\n+ plus\n\ntext\n\n",
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void StreamedCharacterByCharacterItRendersExactlyWhatTheWholeTextRendersAtEveryStep(string markdown)
    {
        var incremental = new IncrementalMarkdown(_renderer);

        for (var length = 1; length <= markdown.Length; length++)
        {
            var prefix = markdown[..length];
            var blocks = incremental.Update(prefix);
            Assert.Equal(_renderer.ToHtml(prefix), Join(blocks));
        }
    }

    [Fact]
    public void TheSimulatedAnswerStreamedTokenByTokenEndsAsItsStoredRendering()
    {
        var text = SimulatedAnswer(600, out var tokens);
        var incremental = new IncrementalMarkdown(_renderer);
        var shown = "";

        foreach (var token in tokens)
        {
            shown += token;
            var blocks = incremental.Update(shown);
            Assert.Equal(_renderer.ToHtml(shown), Join(blocks));
        }

        Assert.Equal(text, shown);
        Assert.True(incremental.FinishedBlocks > 10, $"Only {incremental.FinishedBlocks} finished blocks.");
        Assert.Equal(_renderer.ToHtml(text), Join(_renderer.RenderBlocks(text)));
    }

    [Fact]
    public void TheParsingWorkGrowsLinearlyWithTheAnswerNotWithItsSquare()
    {
        var half = ParsedWhileStreaming(2_000, out var halfLength);
        var whole = ParsedWhileStreaming(4_000, out var wholeLength);

        // Re-parsing everything on each token would do about length x tokens / 2 and quadruple when the answer doubles.
        var naive = (long)wholeLength * 4_000 / 2;
        Assert.True(whole < naive / 20, $"{whole} characters parsed for a {wholeLength}-character answer (naive: {naive}).");
        var growth = (double)whole / half;
        Assert.True(growth < 2.4, $"Doubling the answer ({halfLength} -> {wholeLength} characters) multiplied the work by {growth:F2}.");
    }

    [Fact]
    public void ATextThatIsNotAContinuationStartsOver()
    {
        var incremental = new IncrementalMarkdown(_renderer);
        incremental.Update("First answer.\n\nSecond paragraph.\n\nThird");

        var blocks = incremental.Update("Something else.\n\nEntirely");

        Assert.Equal(_renderer.ToHtml("Something else.\n\nEntirely"), Join(blocks));
    }

    private long ParsedWhileStreaming(int tokenCount, out int length)
    {
        var text = SimulatedAnswer(tokenCount, out var tokens);
        var incremental = new IncrementalMarkdown(_renderer);
        var shown = new System.Text.StringBuilder();
        foreach (var token in tokens)
        {
            shown.Append(token);
            incremental.Update(shown.ToString());
        }

        length = text.Length;
        return incremental.CharactersParsed;
    }

    private static string SimulatedAnswer(int tokenCount, out List<string> tokens)
    {
        tokens = SimulatedChatClient.Tokenize(SimulatedChatClient.Compose("How do I stream an answer in C#?", tokenCount), tokenCount);
        return string.Concat(tokens);
    }

    private static string Join(RenderedMarkdown rendered) => string.Concat(rendered.Blocks.Select(b => b.Value));
}
