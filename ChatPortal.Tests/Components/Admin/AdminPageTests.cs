using AngleSharp.Dom;
using Bunit;
using ChatPortal.Admin;
using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.DependencyInjection;
using static ChatPortal.Tests.Components.Admin.AdminTestData;
using AdminPage = ChatPortal.Components.Pages.Admin.Admin;

namespace ChatPortal.Tests.Components.Admin;

/// <summary>
/// The dashboard page on a fake source. Starts, ends and health changes are pushed, so every assertion here holds
/// at once or within <see cref="Push"/>, far inside the page's 2 s refresh: none waits for the timer.
/// </summary>
public sealed class AdminPageTests : ComponentTest
{
    private static readonly TimeSpan Push = TimeSpan.FromSeconds(1);
    private readonly FakeDashboardSource _source = new();
    private readonly CoordinationHealth _health = new();
    private readonly ChatPortal.Core.Storage.DatabaseHealth _database = new(TimeProvider.System) { Provider = "Postgres" };

    public AdminPageTests()
    {
        Services.AddSingleton<IAdminDashboardSource>(_source);
        Services.AddSingleton(_health);
        Services.AddSingleton(_database);
    }

    [Fact]
    public void TwoLiveInstancesUnderOneNodeIdShowALoudWarningAsSoonAsTheyAreSeen()
    {
        var cut = Render<AdminPage>();
        Assert.Empty(cut.FindAll("[data-testid=admin-duplicate-node]"));

        _health.SetDuplicateNodeIds(["node-b"]);

        cut.WaitForAssertion(() => Assert.Contains("node-b", cut.Find("[data-testid=admin-duplicate-node]").TextContent), Push);
    }

    [Fact]
    public void AnUnreachableDatabaseIsShownUntilItAnswersAgain()
    {
        var cut = Render<AdminPage>();

        _database.ReportFailure(new TimeoutException("connection timed out"));
        cut.WaitForAssertion(() => Assert.Contains("connection timed out", cut.Find("[data-testid=admin-database-down]").TextContent), Push);

        _database.ReportSuccess();
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=admin-database-down]")), Push);
    }

    [Fact]
    public void TheSourcesRunningTasksAreRows()
    {
        _source.Tasks = [Task("t-1", startedAt: Now.AddSeconds(-20)), Task("t-2", node: "node-b", startedAt: Now.AddSeconds(-10))];

        var cut = Render<AdminPage>();

        Assert.Equal(["t-1", "t-2"], TaskRows(cut));
        Assert.Contains("2 running", cut.Find("[data-testid=admin-running-count]").TextContent);
    }

    [Fact]
    public void AStartedEventAddsItsRowWithoutARefresh()
    {
        _source.Tasks = [Task("t-1")];
        var cut = Render<AdminPage>();

        var started = Info("t-2", node: "node-b");
        _source.Tasks = [Task("t-1"), Task("t-2", node: "node-b")];
        _source.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Started, started, GenerationStatus.Running, Tokens: 0));

        // No wait: the push renders the row at once; the next refresh is 2 s away.
        Assert.Equal(["t-1", "t-2"], TaskRows(cut));
        Assert.Contains("node-b", Row(cut, "t-2").TextContent);
    }

    [Fact]
    public void AStopMovesTheRowToRecentWithHowFastItTookEffect()
    {
        _source.Tasks = [Task("t-1"), Task("t-2")];
        var cut = Render<AdminPage>();

        _source.Tasks = [Task("t-2")];
        _source.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Ended, Info("t-1"), GenerationStatus.Cancelled, Tokens: 42, CancelLatencyMs: 3.2));

        Assert.Equal(["t-2"], TaskRows(cut));
        var recent = Assert.Single(cut.FindAll("[data-testid=admin-recent-row]"));
        Assert.Equal("t-1", recent.GetAttribute("data-task-id"));
        Assert.Equal("cancelled", recent.GetAttribute("data-status"));
        Assert.Contains($"owner stopped it in {3.2:0.0} ms", recent.TextContent);
        Assert.Contains("42 tokens", recent.TextContent);
    }

    [Fact]
    public void AStaleListingDoesNotBringBackATaskThatHasEnded()
    {
        // The listing may lag the end event (another node's heartbeat): the ended task must not come back.
        _source.Tasks = [Task("t-1")];
        var cut = Render<AdminPage>();
        _source.Raise(new TaskLifecycleEvent(TaskLifecycleKind.Ended, Info("t-1"), GenerationStatus.Completed, Tokens: 12));
        var reads = _source.OverviewReads;

        _health.Set(RedisState.Degraded);

        cut.WaitForAssertion(() => Assert.True(_source.OverviewReads > reads), Push);
        Assert.Empty(TaskRows(cut));
        Assert.Single(cut.FindAll("[data-testid=admin-no-tasks]"));
    }

    [Fact]
    public void CancelOnARowCancelsThatTaskThroughTheSource()
    {
        _source.Tasks = [Task("t-1"), Task("t-2")];
        var cut = Render<AdminPage>();

        Row(cut, "t-2").QuerySelector("[data-testid=admin-cancel]")!.Click();

        Assert.Equal(["t-2"], _source.Cancelled);
        cut.WaitForAssertion(() => Assert.Equal(["t-1"], TaskRows(cut)), Push);
    }

    [Fact]
    public void WhileAStopIsUnconfirmedItsButtonSaysStoppingAndThenComesBack()
    {
        var confirmation = new TaskCompletionSource<CancelResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _source.CancelHandler = _ => confirmation.Task;
        _source.Tasks = [Task("t-1")];
        var cut = Render<AdminPage>();

        Row(cut, "t-1").QuerySelector("[data-testid=admin-cancel]")!.Click();

        cut.WaitForAssertion(() =>
        {
            var button = Row(cut, "t-1").QuerySelector("[data-testid=admin-cancel]")!;
            Assert.True(button.HasAttribute("disabled"));
            Assert.Equal("Stopping…", button.TextContent.Trim());
        }, Push);

        confirmation.SetResult(new CancelResult(CancelOutcome.Pending, "t-1", GenerationStatus.Running, "node-b"));

        // The owner has not confirmed: the task is still listed and may be stopped again.
        cut.WaitForAssertion(() =>
        {
            var button = Row(cut, "t-1").QuerySelector("[data-testid=admin-cancel]")!;
            Assert.False(button.HasAttribute("disabled"));
            Assert.Equal("Cancel", button.TextContent.Trim());
        }, Push);
    }

    [Fact]
    public void AHealthChangeRefreshesTheRedisCardAtOnce()
    {
        var cut = Render<AdminPage>();
        Assert.Equal("healthy", RedisCard(cut).GetAttribute("data-status"));

        _source.Overview = Overview(redis: RedisHealth("down", pingMs: null, version: null, usedMemoryBytes: null, lastError: "boom"));
        _health.Set(RedisState.Down, "boom");

        cut.WaitForAssertion(() => Assert.Equal("down", RedisCard(cut).GetAttribute("data-status")), Push);
        Assert.Contains("boom", RedisCard(cut).TextContent);
    }

    [Fact]
    public void AHealthChangeDuringASlowRefreshIsNotLost()
    {
        var cut = Render<AdminPage>();

        // A first change starts a refresh that reads "degraded" and is slow to return...
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _source.OverviewGate = slow;
        _source.Overview = Overview(redis: RedisHealth("degraded"));
        _health.Set(RedisState.Degraded);
        cut.WaitForAssertion(() => Assert.True(_source.OverviewReads >= 2), Push);

        // ...and Redis goes down while it is in flight.
        _source.OverviewGate = null;
        _source.Overview = Overview(redis: RedisHealth("down", lastError: "boom"));
        _health.Set(RedisState.Down, "boom");
        slow.SetResult();

        cut.WaitForAssertion(() => Assert.Equal("down", RedisCard(cut).GetAttribute("data-status")), Push);
    }

    [Fact]
    public async Task LeavingThePageReleasesItsSubscriptions()
    {
        var cut = Render<AdminPage>();
        Assert.Equal(1, _source.ListenerCount);

        await DisposeComponentsAsync();

        Assert.Equal(0, _source.ListenerCount);
        var reads = _source.OverviewReads;
        _health.Set(RedisState.Down, "boom");
        Assert.Equal(reads, _source.OverviewReads);
    }

    private static IEnumerable<string?> TaskRows(IRenderedComponent<AdminPage> cut) =>
        cut.FindAll("[data-testid=admin-task-row]").Select(r => r.GetAttribute("data-task-id")).ToList();

    private static IElement Row(IRenderedComponent<AdminPage> cut, string taskId) =>
        cut.Find($"[data-testid=admin-task-row][data-task-id='{taskId}']");

    private static IElement RedisCard(IRenderedComponent<AdminPage> cut) => cut.Find("[data-testid=admin-redis-status]");
}
