using ChatPortal.Core.Conversations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Core.Storage;

/// <summary>
/// Removes deleted conversations once their restore window has passed (<see cref="ConversationDeletion.PurgeAfter"/>,
/// on the database's clock). Every node runs it; a purge is one transaction and idempotent, so two nodes purging at
/// once remove each conversation once. Its first sweep waits one interval: the database is migrated by then.
/// </summary>
public sealed partial class DeletedConversationPurge(DatabaseConversationStore store, ILogger<DeletedConversationPurge> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            int purged;
            do
            {
                purged = await store.PurgeDeletedAsync(ConversationDeletion.PurgeAfter, cancellationToken).ConfigureAwait(false);
                if (purged > 0)
                {
                    Log.Purged(logger, purged);
                }
            }
            while (purged > 0 && !cancellationToken.IsCancellationRequested);
        }
        catch (StoreUnavailableException ex)
        {
            Log.Unavailable(logger, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Failed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5101, LogLevel.Debug, "Purged {Count} deleted conversations past their restore window.")]
        public static partial void Purged(ILogger logger, int count);

        [LoggerMessage(5102, LogLevel.Debug, "The purge of deleted conversations skipped a sweep: the database is unreachable.")]
        public static partial void Unavailable(ILogger logger, Exception exception);

        [LoggerMessage(5103, LogLevel.Error, "The purge of deleted conversations failed.")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
