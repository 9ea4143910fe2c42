using ChatPortal.Core.Generation;

namespace ChatPortal.Hosting;

/// <summary>
/// On a graceful stop (rolling restart), running answers get a few seconds to finish; the rest end as
/// failed with their text stored, so no text a user saw is lost.
/// </summary>
internal sealed class GenerationShutdown(GenerationEngine engine, IConfiguration configuration) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var drain = configuration.GetValue("ChatPortal:ShutdownDrainSeconds", 10.0);
        return engine.ShutdownAsync(TimeSpan.FromSeconds(drain), cancellationToken);
    }
}
