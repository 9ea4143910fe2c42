using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChatPortal.Core.Generation;
using ChatPortal.Rendering;

namespace ChatPortal.Bench;

/// <summary>
/// <c>--render</c>: what rendering a streaming answer's Markdown costs, re-parsing the whole text on every render
/// (the first build) against <see cref="IncrementalMarkdown"/> (finished blocks kept, the open block parsed again).
/// The simulated model's answer, rendered after every 1, 3 and 10 tokens; no nodes, no network.
/// </summary>
public static class RenderBenchmark
{
    private const int Repeats = 5;

    public static int Run(TextWriter output, int tokenCount)
    {
        var tokens = SimulatedChatClient.Tokenize(SimulatedChatClient.Compose("How do I stream and stop an answer across nodes?", tokenCount), tokenCount);
        var text = string.Concat(tokens);
        var renderer = new MarkdownRenderer();
        output.WriteLine($"Answer: {tokens.Count} tokens, {text.Length} characters, {CountOf(text, "```") / 2} code blocks. Median of {Repeats} runs.");
        output.WriteLine();
        output.WriteLine("| tokens per render | renders | whole text: ms | chars parsed | incremental: ms | chars parsed | speed-up |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var batch in new[] { 1, 3, 10 })
        {
            Measure(tokens, batch, prefix => { renderer.ToHtml(prefix); return prefix.Length; }); // warm-up
            var whole = Median(() => Measure(tokens, batch, prefix => { renderer.ToHtml(prefix); return prefix.Length; }));
            var incremental = Median(() =>
            {
                var markdown = new IncrementalMarkdown(renderer, partial: true);
                var result = Measure(tokens, batch, prefix => { markdown.Update(prefix); return 0; });
                return result with { Parsed = markdown.CharactersParsed };
            });
            var renders = (tokens.Count + batch - 1) / batch;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {batch} | {renders} | {whole.Ms:F0} | {whole.Parsed:N0} | {incremental.Ms:F0} | {incremental.Parsed:N0} | {whole.Ms / incremental.Ms:F0}x |"));
        }

        return 0;
    }

    private readonly record struct Result(double Ms, long Parsed);

    /// <summary>Streams the tokens, rendering the text so far after every <paramref name="batch"/> of them, as a page does.</summary>
    private static Result Measure(List<string> tokens, int batch, Func<string, long> render)
    {
        var shown = new StringBuilder();
        long parsed = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < tokens.Count; i++)
        {
            shown.Append(tokens[i]);
            if ((i + 1) % batch == 0 || i == tokens.Count - 1)
            {
                parsed += render(shown.ToString());
            }
        }

        return new Result(clock.Elapsed.TotalMilliseconds, parsed);
    }

    private static Result Median(Func<Result> run)
    {
        var results = Enumerable.Range(0, Repeats).Select(_ => run()).OrderBy(r => r.Ms).ToList();
        return results[Repeats / 2];
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
