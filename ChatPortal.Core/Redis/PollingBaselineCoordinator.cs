using ChatPortal.Core.Coordination;
using ChatPortal.Core.Generation;
using Microsoft.Extensions.Hosting;

namespace ChatPortal.Core.Redis;

/// <summary>
/// BENCHMARK BASELINE, not a product mode: the multi-node fix ChatPortal replaces. A cancel only writes a
/// Redis flag; the owner checks it with one EXISTS every <see cref="ChunksPerCheck"/> chunks (50 calls for a
/// 500-token answer), so a Stop takes effect only at the next check. Everything else is the Redis coordinator,
/// so the benchmark compares exactly push against polling. Enabled only by the internal setting
/// <c>ChatPortal:Internal:CancelStrategy=PollingBaseline</c>.
/// </summary>
public sealed class PollingBaselineCoordinator(RedisTaskCoordinator inner, RedisConnection redis) : ITaskCoordinator, IChunkObserver, IHostedService
{
    public const string StrategyName = "PollingBaseline";
    public const int ChunksPerCheck = 10;

    public bool IsDistributed => inner.IsDistributed;

    public async ValueTask OnChunkAsync(GenerationTask task)
    {
        if (task.Tokens % ChunksPerCheck != 0 || !redis.IsAvailable)
        {
            return;
        }

        if (await redis.Database.KeyExistsAsync(redis.Keys.CancelFlag(task.Id)).ConfigureAwait(false))
        {
            task.RequestCancel();
        }
    }

    public Task<TaskEnded?> CancelRemoteAsync(TaskInfo task, TimeSpan wait, CancellationToken cancellationToken = default) =>
        inner.CancelRemoteAsync(task, wait, publish: false, cancellationToken);

    public Task<ClaimResult> RegisterAsync(TaskInfo task, CancellationToken cancellationToken = default) => inner.RegisterAsync(task, cancellationToken);

    public RedisCost AnnounceStarted(TaskInfo task) => inner.AnnounceStarted(task);

    public Task<RedisCost> CompleteAsync(TaskInfo task, TaskEnded outcome, int tokens, CancellationToken cancellationToken = default) =>
        inner.CompleteAsync(task, outcome, tokens, cancellationToken);

    public Task<RunningTask?> FindRunningAsync(string taskId, bool checkOwner = true, CancellationToken cancellationToken = default) =>
        inner.FindRunningAsync(taskId, checkOwner, cancellationToken);

    public Task<TaskInfo?> FindRunningInConversationAsync(string conversationId, CancellationToken cancellationToken = default) =>
        inner.FindRunningInConversationAsync(conversationId, cancellationToken);

    public Task<IReadOnlyList<RunningTask>> ListRunningAsync(CancellationToken cancellationToken = default) => inner.ListRunningAsync(cancellationToken);

    public IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, CancellationToken cancellationToken = default) =>
        inner.FollowRemoteAsync(task, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
