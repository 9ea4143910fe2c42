using Bunit;
using ChatPortal.Components.Pages.Admin;
using static ChatPortal.Tests.Components.Admin.AdminTestData;

namespace ChatPortal.Tests.Components.Admin;

public sealed class NodesCardTests : ComponentTest
{
    [Fact]
    public void EachNodeIsOneEntryWithItsRunningAnswersAndCircuits()
    {
        var cut = Render<NodesCard>(p => p
            .Add(c => c.Nodes, [Node("node-a", activeTasks: 2, circuits: 5), Node("node-b", activeTasks: 0, circuits: 1)])
            .Add(c => c.Now, Now));

        var nodes = cut.FindAll("[data-testid=admin-node]");
        Assert.Equal(["node-a", "node-b"], nodes.Select(n => n.GetAttribute("data-node-id")));
        Assert.Contains("2 running", nodes[0].TextContent);
        Assert.Contains("5 circuits", nodes[0].TextContent);
        Assert.Contains("0 running", nodes[1].TextContent);
        Assert.Contains("1 circuits", nodes[1].TextContent);
    }

    [Fact]
    public void ANodeWhoseCancelSubscriptionIsDeadIsMarked()
    {
        var cut = Render<NodesCard>(p => p
            .Add(c => c.Nodes, [Node("node-a"), Node("node-b", subscriptionAlive: false)])
            .Add(c => c.Now, Now));

        var alive = cut.Find("[data-testid=admin-node][data-node-id=node-a] .cp-dot");
        var dead = cut.Find("[data-testid=admin-node][data-node-id=node-b] .cp-dot");
        Assert.True(alive.ClassList.Contains("cp-dot-ok"));
        Assert.False(alive.ClassList.Contains("cp-dot-bad"));
        Assert.True(dead.ClassList.Contains("cp-dot-bad"));
        Assert.False(dead.ClassList.Contains("cp-dot-ok"));
    }
}
