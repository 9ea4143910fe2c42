using System.Collections.Concurrent;
using System.Diagnostics;

namespace ChatPortal.Chaos;

public enum FaultKind
{
    FreezeNode,
    KillNodeSameId,
    KillNodeNewId,
    KillRedis,
    StallRedis,
    KillPubSub,
    KillPostgres,
}

/// <summary>Faults at random from the seed, one at a time, with recovery gaps; at most one node is ever away.</summary>
public sealed class FaultInjector(ChaosCluster cluster, Random random, bool shortRun, Stopwatch clock, TextWriter log)
{
    public ConcurrentDictionary<FaultKind, int> Counts { get; } = new();

    public static string Describe(FaultKind kind) => kind switch
    {
        FaultKind.FreezeNode => "SIGSTOP/SIGCONT a node",
        FaultKind.KillNodeSameId => "kill -9 a node, restart same NodeId",
        FaultKind.KillNodeNewId => "kill -9 a node, restart new NodeId",
        FaultKind.KillRedis => "kill -9 Redis, restart empty",
        FaultKind.StallRedis => "Redis DEBUG SLEEP 2 (x3)",
        FaultKind.KillPubSub => "CLIENT KILL TYPE pubsub",
        FaultKind.KillPostgres => "kill -9 PostgreSQL, restart",
        _ => kind.ToString(),
    };

    /// <summary>True once the short run's schedule (every kind once) is done.</summary>
    public bool ScheduleDone { get; private set; }

    private void Log(string text) => log.WriteLine($"[{clock.Elapsed.TotalSeconds,7:0.0}s] {text}");

    public async Task RunAsync(CancellationToken stop)
    {
        var kinds = Enum.GetValues<FaultKind>();
        // Every kind once in a random order first (the short run stops there), then at random.
        var schedule = new Queue<FaultKind>(kinds.OrderBy(_ => random.Next()));
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(shortRun ? 4 : 8), stop);
            while (!stop.IsCancellationRequested)
            {
                if (!schedule.TryDequeue(out var kind))
                {
                    ScheduleDone = true;
                    if (shortRun)
                    {
                        return;
                    }

                    kind = kinds[random.Next(kinds.Length)];
                }

                await InjectAsync(kind, stop);
                Counts.AddOrUpdate(kind, 1, (_, n) => n + 1);
                var gap = shortRun ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(random.Next(5, 13));
                await Task.Delay(gap, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task InjectAsync(FaultKind kind, CancellationToken stop)
    {
        var slot = cluster.Slots[random.Next(cluster.Slots.Count)];
        switch (kind)
        {
            case FaultKind.FreezeNode:
            {
                var seconds = shortRun ? random.Next(14, 16) : random.Next(5, 41);
                Log($"fault: SIGSTOP {slot.Node.NodeId} for {seconds} s");
                await cluster.FreezeAsync(slot, TimeSpan.FromSeconds(seconds), stop);
                Log($"       SIGCONT {slot.Node.NodeId}");
                break;
            }

            case FaultKind.KillNodeSameId:
            case FaultKind.KillNodeNewId:
            {
                var down = TimeSpan.FromMilliseconds(random.Next(500, shortRun ? 2000 : 5000));
                Log($"fault: kill -9 {slot.Node.NodeId}, restart {(kind == FaultKind.KillNodeNewId ? "under a new NodeId" : "under the same NodeId")} after {down.TotalSeconds:0.0} s");
                await cluster.KillNodeAsync(slot, kind == FaultKind.KillNodeNewId, down, log);
                break;
            }

            case FaultKind.KillRedis:
            {
                var down = TimeSpan.FromMilliseconds(random.Next(1000, shortRun ? 3000 : 8000));
                Log($"fault: kill -9 Redis, restart empty after {down.TotalSeconds:0.0} s");
                await cluster.KillRedisAsync(down);
                break;
            }

            case FaultKind.StallRedis:
                Log("fault: Redis DEBUG SLEEP 2, three times");
                for (var i = 0; i < 3; i++)
                {
                    await cluster.StallRedisAsync(2);
                    await Task.Delay(random.Next(200, 1200), CancellationToken.None);
                }

                break;

            case FaultKind.KillPubSub:
                Log("fault: CLIENT KILL TYPE pubsub");
                await cluster.KillPubSubAsync();
                break;

            case FaultKind.KillPostgres:
            {
                var down = TimeSpan.FromMilliseconds(random.Next(1000, shortRun ? 3000 : 8000));
                Log($"fault: kill -9 PostgreSQL, restart after {down.TotalSeconds:0.0} s");
                await cluster.KillPostgresAsync(down);
                Log("       PostgreSQL up again");
                break;
            }
        }
    }
}
