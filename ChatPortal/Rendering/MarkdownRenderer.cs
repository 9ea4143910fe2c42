using Markdig;
using Markdig.Extensions.Tables;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using Microsoft.AspNetCore.Components;

namespace ChatPortal.Rendering;

/// <summary>
/// Markdown to HTML for user and model text. Raw HTML is escaped, not rendered, and link or image targets
/// with a scheme other than http, https or mailto are dropped: neither side of a chat can inject script.
/// Code blocks are highlighted here, on the server (<see cref="ChatCodeBlockRenderer"/>); tables scroll inside a
/// wrapper. <see cref="RenderBlocks"/> and <see cref="IncrementalMarkdown"/> render a message as top-level blocks,
/// so that a streaming answer parses only its last, still open block again.
/// </summary>
public sealed class MarkdownRenderer
{
    private static readonly string[] SafeSchemes = ["http", "https", "mailto"];

    private readonly MarkdownPipeline _pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UseEmphasisExtras()
        .UsePipeTables()
        .UseTaskLists()
        .UseAutoLinks()
        .Build();

    public MarkupString ToMarkup(string markdown) => new(ToHtml(markdown));

    /// <summary>A whole message as blocks: the same HTML as <see cref="ToHtml"/>, in the shape a streamed one has.</summary>
    /// <param name="partial">The text was cut (streaming, stopped, failed): what its end left open is shown closed.</param>
    public RenderedMarkdown RenderBlocks(string markdown, bool partial = false) => new IncrementalMarkdown(this, partial).Update(markdown ?? "");

    public string ToHtml(string markdown)
    {
        var document = Markdown.Parse(markdown ?? "", _pipeline);
        foreach (var link in document.Descendants<LinkInline>())
        {
            if (!IsSafe(link.Url))
            {
                link.Url = "#";
            }

            link.Title = null;
        }

        foreach (var autolink in document.Descendants<AutolinkInline>())
        {
            if (!autolink.IsEmail && !IsSafe(autolink.Url))
            {
                autolink.Url = "#";
            }
        }

        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        _pipeline.Setup(renderer);
        renderer.ObjectRenderers.ReplaceOrAdd<CodeBlockRenderer>(new ChatCodeBlockRenderer());
        if (renderer.ObjectRenderers.Find<HtmlTableRenderer>() is { } tables)
        {
            renderer.ObjectRenderers.ReplaceOrAdd<HtmlTableRenderer>(new TableWrapperRenderer(tables));
        }

        renderer.Render(document);
        writer.Flush();
        return writer.ToString();
    }

    internal static bool IsSafe(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return true;
        }

        // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:").
        var compact = new string(url.Where(c => !char.IsControl(c) && !char.IsWhiteSpace(c)).ToArray());
        var colon = compact.IndexOf(':');
        if (colon < 0)
        {
            return true;
        }

        var slash = compact.IndexOfAny(['/', '?', '#']);
        if (slash >= 0 && slash < colon)
        {
            return true; // a relative path with a colon later on
        }

        var scheme = compact[..colon];
        return SafeSchemes.Contains(scheme, StringComparer.OrdinalIgnoreCase);
    }
}
