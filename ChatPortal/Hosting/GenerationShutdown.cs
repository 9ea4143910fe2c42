using ChatPortal.Core.Generation;

namespace ChatPortal.Hosting;

/// <summary>
/// On a graceful stop (rolling restart), running answers get <c>ShutdownDrainSeconds</c> to finish; the rest
/// end as failed with their text stored, so no text a user saw is lost. This runs in the host's "stopping"
/// phase, before Kestrel stops, so the streams still reach their clients with their final event.
/// </summary>
internal sealed class GenerationShutdown(GenerationEngine engine, IConfiguration configuration) : IHostedLifecycleService
{
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        var drain = configuration.GetValue("ChatPortal:ShutdownDrainSeconds", 10.0);
        return engine.ShutdownAsync(TimeSpan.FromSeconds(drain), cancellationToken);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
