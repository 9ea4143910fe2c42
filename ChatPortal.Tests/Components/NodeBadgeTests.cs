using Bunit;
using ChatPortal.Components.Shared;
using ChatPortal.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Components;

public sealed class NodeBadgeTests : ComponentTest
{
    [Fact]
    public void TheBadgeShowsTheNodeAndSaysItAnswersHere()
    {
        Services.AddSingleton(new NodeIdentity("node-1"));

        var cut = Render<NodeBadge>();

        var badge = cut.Find("[data-testid=node-name]");
        Assert.Equal("node-1", badge.TextContent.Trim());
        Assert.Equal("Answered by node node-1", badge.GetAttribute("aria-label"));
        Assert.Contains("cp-node", badge.ClassList);
    }
}
