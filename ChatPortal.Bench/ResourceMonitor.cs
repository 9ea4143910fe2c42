namespace ChatPortal.Bench;

/// <summary>
/// Watches the node processes during one level: CPU time at its start and end, resident memory sampled every
/// 250 ms (the peak is kept), how busy the whole machine was, and how much of that was not this benchmark's
/// processes (other work on a shared machine).
/// </summary>
public sealed class ResourceMonitor : IAsyncDisposable
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);

    private readonly IReadOnlyList<int> _pids;
    private readonly IReadOnlyList<int> _own;
    private readonly Dictionary<int, TimeSpan> _cpuAtStart;
    private readonly TimeSpan _ownCpuAtStart;
    private readonly long _startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    private readonly Dictionary<int, long> _peakRss = [];
    private readonly MachineCpu _machineAtStart;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;

    private ResourceMonitor(IReadOnlyList<int> pids, IReadOnlyList<int> own)
    {
        _pids = pids;
        _own = own;
        _cpuAtStart = pids.ToDictionary(p => p, ProcessStats.CpuTime);
        _ownCpuAtStart = OwnCpu();
        _machineAtStart = ProcessStats.MachineCpu();
        SampleMemory();
        _sampling = SampleAsync(_stop.Token);
    }

    /// <param name="pids">The nodes measured.</param>
    /// <param name="own">Every process of this benchmark (all clusters' nodes and redis-servers, itself).</param>
    public static ResourceMonitor Start(IReadOnlyList<int> pids, IReadOnlyList<int> own) => new(pids, own);

    public async Task<ResourceUsage> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        SampleMemory();
        var cpu = _pids.Aggregate(TimeSpan.Zero, (sum, pid) => sum + (ProcessStats.CpuTime(pid) - _cpuAtStart[pid]));
        var busy = ProcessStats.MachineCpu().BusySince(_machineAtStart);
        var capacity = System.Diagnostics.Stopwatch.GetElapsedTime(_startedAt) * Environment.ProcessorCount;
        var ownShare = (OwnCpu() - _ownCpuAtStart) / capacity;
        return new ResourceUsage(
            _pids.Count == 0 ? null : cpu,
            _peakRss.Count == 0 ? null : _peakRss.Values.Max(),
            busy,
            Math.Max(0, busy - ownShare));
    }

    private TimeSpan OwnCpu() => _own.Aggregate(TimeSpan.Zero, (sum, pid) => sum + ProcessStats.CpuTime(pid));

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                SampleMemory();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void SampleMemory()
    {
        foreach (var pid in _pids)
        {
            _peakRss[pid] = Math.Max(ProcessStats.ResidentBytes(pid), _peakRss.GetValueOrDefault(pid));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _sampling;
        }

        _stop.Dispose();
    }
}

/// <param name="NodeCpu">CPU time of all node processes together; null when the nodes are not ours to see.</param>
/// <param name="PeakRssBytes">The highest resident memory any one node reached.</param>
/// <param name="MachineBusy">Share of the machine's CPUs busy during the level (nodes, Redis, this benchmark, anything else).</param>
/// <param name="OutsideBusy">The part of <paramref name="MachineBusy"/> that was not this benchmark's processes.</param>
public sealed record ResourceUsage(TimeSpan? NodeCpu, long? PeakRssBytes, double MachineBusy, double OutsideBusy);
