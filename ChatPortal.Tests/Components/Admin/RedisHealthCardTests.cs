using Bunit;
using ChatPortal.Admin;
using ChatPortal.Components.Pages.Admin;
using static ChatPortal.Tests.Components.Admin.AdminTestData;

namespace ChatPortal.Tests.Components.Admin;

public sealed class RedisHealthCardTests : ComponentTest
{
    [Theory]
    [InlineData("healthy", "Healthy")]
    [InlineData("degraded", "Degraded")]
    [InlineData("down", "Down")]
    public void TheCardCarriesTheStatusAndSaysIt(string status, string label)
    {
        var cut = RenderCard(RedisHealth(status));

        Assert.Equal(status, cut.Find("[data-testid=admin-redis-status]").GetAttribute("data-status"));
        Assert.Equal(label, cut.Find("[data-testid=admin-redis-state]").TextContent.Trim());
    }

    [Fact]
    public void DownShowsTheLastError()
    {
        var cut = RenderCard(RedisHealth("down", pingMs: null, version: null, usedMemoryBytes: null, lastError: "No connection is active"));

        Assert.Equal("No connection is active", cut.Find(".cp-last-error").TextContent.Trim());
    }

    [Fact]
    public void AHealthyRedisDoesNotShowAnOldError()
    {
        var cut = RenderCard(RedisHealth("healthy", lastError: "No connection is active"));

        Assert.Empty(cut.FindAll(".cp-last-error"));
    }

    [Fact]
    public void InMemoryModeSaysNoRedisIsConfigured()
    {
        var cut = RenderCard(RedisHealth("healthy", mode: "single-node", pingMs: null, version: null, usedMemoryBytes: null));

        Assert.Contains("no Redis configured", cut.Markup);
        Assert.Empty(cut.FindAll("dl.cp-facts"));
    }

    [Fact]
    public void PingVersionAndMemoryAreShown()
    {
        var cut = RenderCard(RedisHealth(pingMs: 1.37, version: "7.2.4", usedMemoryBytes: 3 * 1024 * 1024));

        var facts = Facts(cut);
        Assert.Equal($"{1.37:0.00} ms", facts["Ping"]);
        Assert.Equal("7.2.4", facts["Version"]);
        Assert.Equal($"{3.0:0.0} MiB", facts["Memory"]);
    }

    [Fact]
    public void MissingFiguresAreDashes()
    {
        var cut = RenderCard(RedisHealth("down", pingMs: null, version: null, usedMemoryBytes: null));

        var facts = Facts(cut);
        Assert.Equal("—", facts["Ping"]);
        Assert.Equal("—", facts["Version"]);
        Assert.Equal("—", facts["Memory"]);
    }

    private IRenderedComponent<RedisHealthCard> RenderCard(RedisStatus status) =>
        Render<RedisHealthCard>(p => p.Add(c => c.Status, status).Add(c => c.Now, Now));

    private static Dictionary<string, string> Facts(IRenderedComponent<RedisHealthCard> cut) =>
        cut.FindAll("dl.cp-facts dt").ToDictionary(dt => dt.TextContent.Trim(), dt => dt.NextElementSibling!.TextContent.Trim());
}
