using Markdig.Extensions.Tables;
using Markdig.Renderers;
using Markdig.Renderers.Html;

namespace ChatPortal.Rendering;

/// <summary>Markdig's table, inside a wrapper that scrolls sideways on its own so a wide table never widens the page.</summary>
internal sealed class TableWrapperRenderer(HtmlTableRenderer inner) : HtmlObjectRenderer<Table>
{
    protected override void Write(HtmlRenderer renderer, Table table)
    {
        renderer.EnsureLine();
        renderer.Write("<div class=\"cp-table\" tabindex=\"0\">");
        ((Markdig.Renderers.IMarkdownObjectRenderer)inner).Write(renderer, table);
        renderer.Write("</div>");
        renderer.WriteLine();
    }
}
