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

        Assert.Equal("node-1", cut.Find("[data-testid=node-name]").TextContent);
        var badge = cut.Find(".cp-node");
        Assert.Equal("Answered by node node-1", badge.TextContent.Trim()); // what a screen reader hears
        Assert.Equal("Answered by node ", badge.QuerySelector(".cp-sr-only")!.TextContent);
    }
}
