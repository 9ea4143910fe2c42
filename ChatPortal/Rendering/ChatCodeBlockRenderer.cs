using System.Net;
using ColorCode;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Syntax;

namespace ChatPortal.Rendering;

/// <summary>
/// A code block as the chat shows it: a header with the language and a copy button (handled by one delegated
/// listener in app.js), then the code, highlighted on the server with CSS classes (app.css colours them for
/// the light and the dark theme). An unclosed fence, as while an answer streams, renders what it has so far.
/// </summary>
internal sealed class ChatCodeBlockRenderer : HtmlObjectRenderer<CodeBlock>
{
    // ColorCode's formatter writes through a field: one per thread, each with its own compiled languages.
    [ThreadStatic]
    private static HtmlClassFormatter? t_formatter;

    protected override void Write(HtmlRenderer renderer, CodeBlock obj)
    {
        var info = (obj as FencedCodeBlock)?.Info;
        var (label, language) = CodeLanguages.Find(info);
        var code = obj.Lines.ToString();
        var cssName = LanguageClass(info);

        renderer.EnsureLine();
        renderer.Write("<div class=\"cp-code\">");
        renderer.Write("<div class=\"cp-code-head\"><span class=\"cp-code-lang\">").WriteEscape(label).Write("</span>");
        renderer.Write("<button type=\"button\" class=\"cp-code-copy\" data-copy-code aria-label=\"Copy code\">")
            .Write("<svg viewBox=\"0 0 24 24\" width=\"14\" height=\"14\" aria-hidden=\"true\" focusable=\"false\"><path fill=\"currentColor\" d=\"M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z\"/></svg>")
            .Write("<span class=\"cp-code-copy-text\">Copy</span></button></div>");
        // Focusable: a block whose long lines scroll sideways must be scrollable from the keyboard too (axe's
        // scrollable-region-focusable); the table wrapper does the same.
        renderer.Write("<pre tabindex=\"0\"><code");
        if (cssName.Length > 0)
        {
            renderer.Write(" class=\"language-").Write(cssName).Write('"');
        }

        renderer.Write('>');
        renderer.Write(language is null ? WebUtility.HtmlEncode(code) : Highlight(code, language));
        renderer.Write("</code></pre></div>");
        renderer.WriteLine();
    }

    /// <summary>The fence's language as a class name: letters, digits, '#', '+', '-' and '.' only.</summary>
    private static string LanguageClass(string? info)
    {
        var name = (info ?? "").Trim();
        return new string(name.Where(c => char.IsAsciiLetterOrDigit(c) || c is '#' or '+' or '-' or '.' or '_').ToArray());
    }

    /// <summary>The spans ColorCode writes (it HTML-encodes the code), without its own div and pre wrappers.</summary>
    private static string Highlight(string code, ILanguage language)
    {
        if (code.Length == 0)
        {
            return "";
        }

        var html = (t_formatter ??= new HtmlClassFormatter()).GetHtmlString(code, language);
        var start = html.IndexOf("<pre>", StringComparison.Ordinal);
        var end = html.LastIndexOf("</pre>", StringComparison.Ordinal);
        if (start < 0 || end < start)
        {
            return WebUtility.HtmlEncode(code);
        }

        start += "<pre>".Length;
        if (start < end && html[start] == '\r')
        {
            start++;
        }

        if (start < end && html[start] == '\n')
        {
            start++;
        }

        // ColorCode ends the code with a line break of its own; the code block does not.
        var inner = html[start..end];
        return inner.EndsWith("\r\n", StringComparison.Ordinal) ? inner[..^2] : inner.EndsWith('\n') ? inner[..^1] : inner;
    }
}
