using ChatPortal.Core.Generation;
using ChatPortal.Core.Coordination;

namespace ChatPortal.Admin;

/// <summary>Samples the cluster figures every 5 s and keeps the last 10 minutes for the dashboard's charts.</summary>
public sealed class MetricsHistory(IServiceProvider services, ILogger<MetricsHistory> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private const int Capacity = 120;
    private readonly Lock _gate = new();
    private readonly Queue<MetricsSample> _samples = new();

    public event Action? Sampled;

    public IReadOnlyList<MetricsSample> Samples
    {
        get
        {
            lock (_gate)
            {
                return [.. _samples];
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                await SampleAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogDebug(ex, "Sampling the dashboard figures failed.");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        var source = services.GetRequiredService<IAdminDashboardSource>();
        var overview = await source.GetOverviewAsync(cancellationToken);
        var tasks = await services.GetRequiredService<GenerationEngine>().ListRunningAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var tokensPerSecond = tasks.Sum(t => t.Tokens / Math.Max(1, (now - t.Info.StartedAt).TotalSeconds));
        var sample = new MetricsSample(now, tasks.Count, Math.Round(tokensPerSecond, 1), overview.Metrics.CancelLatencyMs.P95, overview.Metrics.OverheadMsPerAnswer, overview.Redis.PingMs);
        lock (_gate)
        {
            _samples.Enqueue(sample);
            while (_samples.Count > Capacity)
            {
                _samples.Dequeue();
            }
        }

        Sampled?.Invoke();
    }
}
