using AngleSharp.Dom;
using Bunit;
using ChatPortal.Admin;
using ChatPortal.Components.Pages.Admin;
using static ChatPortal.Tests.Components.Admin.AdminTestData;

namespace ChatPortal.Tests.Components.Admin;

public sealed class AdminTaskTableTests : ComponentTest
{
    private readonly List<string> _cancelRequests = [];

    [Fact]
    public void EachTaskIsOneRowCarryingItsId()
    {
        var cut = RenderTable([Task("t-1"), Task("t-2", node: "node-b"), Task("t-3")]);

        var rows = cut.FindAll("[data-testid=admin-task-row]");
        Assert.Equal(["t-1", "t-2", "t-3"], rows.Select(r => r.GetAttribute("data-task-id")));
        Assert.Contains("node-b", rows[1].TextContent);
        Assert.Empty(cut.FindAll("[data-testid=admin-no-tasks]"));
    }

    [Fact]
    public void CancelOnARowAsksToCancelThatRowsTask()
    {
        var cut = RenderTable([Task("t-1"), Task("t-2"), Task("t-3")]);

        Row(cut, "t-2").QuerySelector("[data-testid=admin-cancel]")!.Click();

        Assert.Equal(["t-2"], _cancelRequests);
    }

    [Fact]
    public void ATaskBeingCancelledShowsADisabledStoppingButton()
    {
        var cut = RenderTable([Task("t-1"), Task("t-2")], cancelling: ["t-2"]);

        var stopping = Row(cut, "t-2").QuerySelector("[data-testid=admin-cancel]")!;
        Assert.True(stopping.HasAttribute("disabled"));
        Assert.Equal("Stopping…", stopping.TextContent.Trim());

        var other = Row(cut, "t-1").QuerySelector("[data-testid=admin-cancel]")!;
        Assert.False(other.HasAttribute("disabled"));
        Assert.Equal("Cancel", other.TextContent.Trim());
    }

    [Fact]
    public void NoTasksSaysNothingIsBeingGenerated()
    {
        var cut = RenderTable([]);

        Assert.Empty(cut.FindAll("[data-testid=admin-task-row]"));
        Assert.Single(cut.FindAll("[data-testid=admin-no-tasks]"));
    }

    [Fact]
    public void AgeAndTokensPerSecondAreComputedFromNow()
    {
        var cut = RenderTable([Task("t-1", startedAt: Now.AddSeconds(-83), tokens: 166)]);

        var cells = Row(cut, "t-1").QuerySelectorAll("td");
        Assert.Equal("1:23", cells[4].TextContent.Trim());
        Assert.Equal("166", cells[5].TextContent.Trim());
        Assert.Equal(2.0.ToString("0.0"), cells[6].TextContent.Trim());
    }

    [Fact]
    public void ATaskStampedAfterNowShowsZeroAgeAndNoRate()
    {
        // Node clocks differ a little: a task may have started "after" this node's now.
        var cut = RenderTable([Task("t-1", startedAt: Now.AddSeconds(3), tokens: 10)]);

        var cells = Row(cut, "t-1").QuerySelectorAll("td");
        Assert.Equal("0:00", cells[4].TextContent.Trim());
        Assert.Equal("–", cells[6].TextContent.Trim());
    }

    [Fact]
    public void NewNowRecomputesTheAge()
    {
        var cut = RenderTable([Task("t-1", startedAt: Now.AddSeconds(-5), tokens: 50)]);

        cut.Render(p => p.Add(c => c.Now, Now.AddSeconds(5)));

        var cells = Row(cut, "t-1").QuerySelectorAll("td");
        Assert.Equal("0:10", cells[4].TextContent.Trim());
        Assert.Equal(5.0.ToString("0.0"), cells[6].TextContent.Trim());
    }

    private IRenderedComponent<AdminTaskTable> RenderTable(IReadOnlyList<AdminTask> tasks, IReadOnlyCollection<string>? cancelling = null) =>
        Render<AdminTaskTable>(p => p
            .Add(c => c.Tasks, tasks)
            .Add(c => c.Now, Now)
            .Add(c => c.Cancelling, new HashSet<string>(cancelling ?? []))
            .Add(c => c.OnCancel, (string taskId) => _cancelRequests.Add(taskId)));

    private static IElement Row(IRenderedComponent<AdminTaskTable> cut, string taskId) =>
        cut.Find($"[data-testid=admin-task-row][data-task-id='{taskId}']");
}
