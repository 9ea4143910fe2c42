using Bunit;
using ChatPortal.Components.Pages.Chat;
using MudBlazor;

namespace ChatPortal.Tests.Components;

public sealed class ExportMenuTests : ComponentTest
{
    [Fact]
    public void TheMenuOffersMarkdownAndJsonAsDownloadsOfThisConversation()
    {
        var popovers = Render<MudPopoverProvider>();
        var cut = Render<ExportMenu>(p => p.Add(c => c.ConversationId, "0123456789abcdef01234567"));

        var button = cut.Find("[data-testid=export-menu] button");
        Assert.Equal("Export this conversation", button.GetAttribute("aria-label"));
        button.Click();

        var markdown = popovers.WaitForElement("[data-testid=export-markdown]");
        var json = popovers.Find("[data-testid=export-json]");
        Assert.Equal("/api/conversations/0123456789abcdef01234567/export?format=markdown", markdown.GetAttribute("href"));
        Assert.Equal("/api/conversations/0123456789abcdef01234567/export?format=json", json.GetAttribute("href"));
        Assert.All([markdown, json], link => Assert.True(link.HasAttribute("download"), "Without download, Blazor's router would take the click."));
        Assert.All([markdown, json], link => Assert.Equal("menuitem", link.GetAttribute("role")));
    }

    [Fact]
    public void AnEmptyConversationHasNothingToExport()
    {
        var cut = Render<ExportMenu>(p => p.Add(c => c.ConversationId, "0123456789abcdef01234567").Add(c => c.Disabled, true));

        Assert.True(cut.Find("[data-testid=export-menu] button").HasAttribute("disabled"));
    }
}
