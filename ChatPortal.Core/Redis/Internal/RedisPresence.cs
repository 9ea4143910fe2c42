using ChatPortal.Core.Coordination;
using ChatPortal.Core.Tasks;
using ChatPortal.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// Presence: one heartbeat per node every 2 s (not per task), with its tasks' token counts, under a key with a
/// TTL; the set of node ids lists who ever reported. Reading the heartbeats keeps other nodes' token counts fresh.
/// </summary>
internal sealed class RedisPresence : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    private readonly RedisConnection _redis;
    private readonly LocalTaskRegistry _registry;
    private readonly NodeIdentity _node;
    private readonly NodeInstance _instance;
    private readonly NodeActivity _activity;
    private readonly CoordinationHealth _health;
    private readonly ChatPortalMetrics _metrics;
    private readonly ILogger _logger;
    private IReadOnlyList<NodeHeartbeat> _lastBeats = [];

    public RedisPresence(
        RedisConnection redis,
        LocalTaskRegistry registry,
        NodeIdentity node,
        NodeInstance instance,
        NodeActivity activity,
        CoordinationHealth health,
        ChatPortalMetrics metrics,
        ILogger logger)
    {
        _redis = redis;
        _registry = registry;
        _node = node;
        _instance = instance;
        _activity = activity;
        _health = health;
        _metrics = metrics;
        _logger = logger;
        redis.Restored += OnRestored;
    }

    private RedisKeys Keys => _redis.Keys;

    private IDatabase Db => _redis.Database;

    /// <summary>Token counts of the tasks of other nodes, from the heartbeats read last.</summary>
    public IReadOnlyDictionary<string, int> RemoteTokenCounts()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var beat in _lastBeats)
        {
            if (beat.Instance == _instance.Id)
            {
                continue;
            }

            foreach (var task in beat.Tasks)
            {
                counts[task.Task.TaskId] = task.Tokens;
            }
        }

        return counts;
    }

    public async Task<IReadOnlyList<NodeStatus>> ListNodesAsync()
    {
        var beats = await ReadHeartbeatsAsync().ConfigureAwait(false);
        return [.. beats
            .Where(b => b.Instance != _instance.Id && b.Node != _node.Id)
            .Select(b => new NodeStatus(b.Node, b.LastSeen, b.Tasks.Count, b.Circuits, b.SubscriptionAlive, b.Metrics))
            .Append(new NodeStatus(_node.Id, DateTimeOffset.UtcNow, _registry.Count, _activity.Circuits(), _health.SubscriptionAlive, _metrics.Snapshot()))
            .OrderBy(n => n.Id, StringComparer.Ordinal)];
    }

    /// <summary>The nodes that reported within the heartbeat TTL.</summary>
    public async Task<IReadOnlyList<NodeHeartbeat>> ReadHeartbeatsAsync()
    {
        if (!_redis.IsAvailable)
        {
            return [];
        }

        try
        {
            var nodes = await Db.SetMembersAsync(Keys.Nodes).ConfigureAwait(false);
            var batch = Db.CreateBatch();
            var reads = nodes.Select(n => (Node: (string)n!, Read: batch.StringGetAsync(Keys.NodeAlive((string)n!)))).ToArray();
            batch.Execute();
            var beats = new List<NodeHeartbeat>(reads.Length);
            var gone = new List<RedisValue>();
            foreach (var (node, read) in reads)
            {
                if (RedisJson.Deserialize<NodeHeartbeat>(await read.ConfigureAwait(false)) is { } beat)
                {
                    beats.Add(beat);
                }
                else
                {
                    gone.Add(node);
                }
            }

            if (gone.Count > 0)
            {
                _ = Db.SetRemoveAsync(Keys.Nodes, [.. gone], CommandFlags.FireAndForget);
            }

            _lastBeats = beats;
            return beats;
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            return [];
        }
    }

    /// <summary>One batch per node every 2 s, however many tasks it runs.</summary>
    public async Task HeartbeatAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        var tasks = _registry.All.Select(t => new HeartbeatTask(t.Info, t.Tokens)).ToList();
        var beat = RedisJson.Serialize(new NodeHeartbeat(_node.Id, _instance.Id, DateTimeOffset.UtcNow, _health.SubscriptionAlive, _activity.Circuits(), tasks, _metrics.Snapshot()));
        try
        {
            var batch = Db.CreateBatch();
            var alive = batch.StringSetAsync(Keys.NodeAlive(_node.Id), beat, Ttl);
            var member = batch.SetAddAsync(Keys.Nodes, _node.Id);
            batch.Execute();
            await Task.WhenAll(alive, member).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            RedisLog.HeartbeatFailed(_logger, ex);
        }

        // Keep other nodes' token counts fresh for the dashboard while someone reads them.
        await ReadHeartbeatsAsync().ConfigureAwait(false);
    }

    /// <summary>A graceful stop: leave the cluster's presence now rather than by TTL.</summary>
    public async Task LeaveAsync()
    {
        if (!_redis.IsAvailable)
        {
            return;
        }

        try
        {
            await Db.KeyDeleteAsync(Keys.NodeAlive(_node.Id)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisJson.IsUnavailable(ex))
        {
            RedisLog.HeartbeatFailed(_logger, ex);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await HeartbeatAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    RedisLog.LoopFailed(_logger, ex, nameof(HeartbeatAsync));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void OnRestored() => _ = HeartbeatAsync();

    public override void Dispose()
    {
        _redis.Restored -= OnRestored;
        base.Dispose();
    }
}
