using ChatPortal.Core.Coordination;
using ChatPortal.Core.Tasks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// BENCHMARK BASELINE, not a product mode: the multi-node fix ChatPortal replaces. A Stop only writes a Redis
/// flag; the owner checks it with one read every <see cref="ChunksPerCheck"/> chunks (50 calls for a
/// 500-token answer), so a Stop takes effect only at the next check (a GET, which the polling fix ran as EXISTS: one command either way). Everything else is the Redis coordinator,
/// so the benchmark compares exactly push against polling. Enabled only by the internal setting
/// <c>ChatPortal:Internal:CancelStrategy=PollingBaseline</c>. (The database's cancel request still backs it up
/// at the owner's lease renewal, as it backs up the push.)
/// </summary>
public sealed class PollingBaselineCoordinator(RedisTaskCoordinator inner, RedisConnection redis, LocalTaskRegistry registry) : ITaskCoordinator, IChunkObserver, IHostedService
{
    public const string StrategyName = "PollingBaseline";
    public const int ChunksPerCheck = 10;
    private static readonly TimeSpan FlagTtl = TimeSpan.FromMinutes(2);

    public bool IsDistributed => inner.IsDistributed;

    public async ValueTask OnChunkAsync(GenerationTask task)
    {
        if (task.Tokens % ChunksPerCheck != 0 || !redis.IsAvailable)
        {
            return;
        }

        // The flag holds whose Stop it is ("" for an admin's): it may be set before the database checked that.
        if (await redis.Database.StringGetAsync(redis.Keys.CancelFlag(task.Id)).ConfigureAwait(false) is { HasValue: true } flag
            && (flag.IsNullOrEmpty || (string?)flag == task.Info.UserId))
        {
            task.RequestCancel();
        }
    }

    public RedisCost PushCancel(string taskId, string? userId)
    {
        if (registry.TryCancel(taskId, userId) || !redis.IsAvailable)
        {
            return default;
        }

        redis.Database.StringSet(redis.Keys.CancelFlag(taskId), userId ?? "", FlagTtl, flags: CommandFlags.FireAndForget);
        return new RedisCost(1, 1);
    }

    public RedisCost AnnounceStarted(TaskInfo task) => inner.AnnounceStarted(task);

    public RedisCost AnnounceEnded(TaskInfo task, TaskEnded outcome, int tokens, double? cancelLatencyMs) =>
        inner.AnnounceEnded(task, outcome, tokens, cancelLatencyMs);

    public TaskEndWaiter WaitForEnd(string taskId) => inner.WaitForEnd(taskId);

    public IAsyncEnumerable<TaskStreamEvent> FollowRemoteAsync(TaskInfo task, CancellationToken cancellationToken = default) =>
        inner.FollowRemoteAsync(task, cancellationToken);

    public IReadOnlyDictionary<string, int> RemoteTokenCounts() => inner.RemoteTokenCounts();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
