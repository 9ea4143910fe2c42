using ChatPortal.Admin;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Tests.Components.Admin;

/// <summary>
/// An <see cref="IAdminDashboardSource"/> the test drives: it returns whatever overview, tasks and history it is
/// given, records the tasks it is asked to cancel and pushes lifecycle events to its subscribers on <see cref="Raise"/>.
/// </summary>
public sealed class FakeDashboardSource : IAdminDashboardSource
{
    private readonly Lock _gate = new();
    private readonly List<string> _cancelled = [];
    private Action<TaskLifecycleEvent>[] _listeners = [];
    private int _overviewReads;

    public AdminOverview Overview { get; set; } = AdminTestData.Overview();

    public IReadOnlyList<AdminTask> Tasks { get; set; } = [];

    public IReadOnlyList<MetricsSample> History { get; set; } = [];

    /// <summary>
    /// When set, an overview read takes the figures of the moment it starts and returns them only once this
    /// completes: a slow read, as a Redis INFO during an outage is.
    /// </summary>
    public TaskCompletionSource? OverviewGate { get; set; }

    /// <summary>What a cancel answers; by default the owner stopped it at once.</summary>
    public Func<string, Task<CancelResult>> CancelHandler { get; set; } =
        taskId => Task.FromResult(new CancelResult(CancelOutcome.Stopped, taskId, GenerationStatus.Cancelled, "node-a"));

    public IReadOnlyList<string> Cancelled
    {
        get
        {
            lock (_gate)
            {
                return [.. _cancelled];
            }
        }
    }

    public int OverviewReads => Volatile.Read(ref _overviewReads);

    public int ListenerCount => Volatile.Read(ref _listeners).Length;

    public async Task<AdminOverview> GetOverviewAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _overviewReads);
        var overview = Overview;
        if (OverviewGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        return overview;
    }

    public Task<IReadOnlyList<AdminTask>> ListTasksAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(Tasks);

    public Task<CancelResult> CancelAsync(string taskId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _cancelled.Add(taskId);
        }

        return CancelHandler(taskId);
    }

    public IDisposable Subscribe(Action<TaskLifecycleEvent> listener)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners, listener];
        }

        return new Subscription(this, listener);
    }

    /// <summary>Pushes an event to every subscriber, as a node's lifecycle events do.</summary>
    public void Raise(TaskLifecycleEvent evt)
    {
        foreach (var listener in Volatile.Read(ref _listeners))
        {
            listener(evt);
        }
    }

    private sealed class Subscription(FakeDashboardSource owner, Action<TaskLifecycleEvent> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._listeners = [.. owner._listeners.Where(l => l != listener)];
            }
        }
    }
}
