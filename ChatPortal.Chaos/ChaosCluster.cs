using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.Chaos;

/// <summary>One node position: a fixed port (what users and the balancer know) and the process that serves it now.</summary>
public sealed class NodeSlot(int index, NodeProcess node)
{
    public int Index { get; } = index;

    public NodeProcess Node { get; set; } = node;

    public int Port => Node.Port;

    public Uri BaseAddress => Node.BaseAddress;

    /// <summary>Generation of the NodeId under this slot (node-a, node-a2, node-a3…).</summary>
    public int Incarnation { get; set; } = 1;

    public volatile bool Frozen;

    public volatile bool Down;
}

/// <summary>
/// The system under test: one PostgreSQL, one redis-server (non-persistent) and three nodes, with the fault
/// state the checker needs (which instances died when, which node is frozen since when, database outages).
/// </summary>
public sealed partial class ChaosCluster : IAsyncDisposable
{
    public const string Database = "chaos";

    private readonly Dictionary<string, string> _settings;
    private readonly List<NodeProcess> _allProcesses = [];
    private readonly Lock _gate = new();

    private ChaosCluster(PostgresServer postgres, RedisServer redis, Dictionary<string, string> settings)
    {
        Postgres = postgres;
        Redis = redis;
        _settings = settings;
    }

    public PostgresServer Postgres { get; }

    public RedisServer Redis { get; }

    public List<NodeSlot> Slots { get; } = [];

    /// <summary>Instance id -> when it died (kill -9), on this machine's clock.</summary>
    public ConcurrentDictionary<string, DateTime> DeadInstances { get; } = new();

    /// <summary>NodeId currently frozen (SIGSTOP) and since when; null when none.</summary>
    public (string NodeId, DateTime Since)? Frozen { get; set; }

    /// <summary>Database outages: start, end (null while it lasts).</summary>
    public List<(DateTime Start, DateTime? End)> DatabaseOutages { get; } = [];

    /// <summary>Freezes: node id, start, end.</summary>
    public List<(string NodeId, DateTime Start, DateTime? End)> Freezes { get; } = [];

    /// <summary>Task ids a janitor released (from the nodes' logs), with the node that released it.</summary>
    public ConcurrentDictionary<string, string> JanitorReleased { get; } = new();

    public static async Task<ChaosCluster> StartAsync(TextWriter log)
    {
        var postgresStarting = PostgresServer.StartAsync();
        var redisStarting = RedisServer.StartAsync(persistent: false);
        var postgres = await postgresStarting;
        var redis = await redisStarting;
        var connectionString = await postgres.CreateDatabaseAsync(Database, maxPoolSize: 30);
        var settings = new Dictionary<string, string>
        {
            ["ChatPortal__Database__Provider"] = "Postgres",
            ["ChatPortal__Database__ConnectionString"] = connectionString,
            ["ChatPortal__Redis"] = redis.ConnectionString,
            ["ChatPortal__ShutdownDrainSeconds"] = "2",
            ["ChatPortal__Model__Simulated__TokensPerSecond"] = "80",
            ["ChatPortal__Model__Simulated__ResponseTokens"] = "30",
            ["ChatPortal__Model__Simulated__FirstTokenDelayMs"] = "50",
            ["ChatPortal__Limits__MessagesPerMinute"] = "100000",
            ["ChatPortal__Limits__MessagesPerMinutePerAddress"] = "100000",
            ["ChatPortal__Limits__ConcurrentAnswersPerUser"] = "1000",
            // Warnings only: the janitor's releases are read from the log, and 2000 kept lines must cover a few seconds.
            ["Logging__LogLevel__ChatPortal"] = "Warning",
            ["Logging__LogLevel__ChatPortal.Core.Ownership"] = "Information",
            ["Logging__LogLevel__Microsoft.EntityFrameworkCore"] = "Critical",
            ["Logging__Console__TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging__Console__UseUtcTimestamp"] = "true",
        };
        var cluster = new ChaosCluster(postgres, redis, settings);
        try
        {
            // The first node applies the migrations; the other two start together.
            var first = await NodeProcess.StartAsync(NodeName(0, 1), settings);
            cluster._allProcesses.Add(first);
            var starting = Enumerable.Range(1, 2).Select(i => NodeProcess.StartAsync(NodeName(i, 1), settings)).ToList();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                cluster._allProcesses.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            }

            for (var i = 0; i < 3; i++)
            {
                cluster.Slots.Add(new NodeSlot(i, cluster._allProcesses[i]));
                log.WriteLine($"  {cluster._allProcesses[i].NodeId} on {cluster._allProcesses[i].Url}");
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    private static string NodeName(int index, int incarnation) =>
        incarnation == 1 ? $"node-{(char)('a' + index)}" : $"node-{(char)('a' + index)}{incarnation}";

    public bool DatabaseDown { get; private set; }

    // ---- faults ----

    public async Task FreezeAsync(NodeSlot slot, TimeSpan duration, CancellationToken stop)
    {
        var pid = slot.Node.ProcessId ?? throw new InvalidOperationException($"{slot.Node.NodeId} is not running.");
        var start = DateTime.UtcNow;
        lock (_gate)
        {
            Frozen = (slot.Node.NodeId, start);
            Freezes.Add((slot.Node.NodeId, start, null));
        }

        slot.Frozen = true;
        await SignalAsync("-STOP", pid);
        try
        {
            await Task.Delay(duration, stop).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            await SignalAsync("-CONT", pid);
            slot.Frozen = false;
            lock (_gate)
            {
                Frozen = null;
                var index = Freezes.FindLastIndex(f => f.End is null);
                Freezes[index] = Freezes[index] with { End = DateTime.UtcNow };
            }
        }
    }

    /// <summary>kill -9 the node, wait, start it again under the same NodeId (a new instance) or a new one.</summary>
    public async Task KillNodeAsync(NodeSlot slot, bool newNodeId, TimeSpan downtime, TextWriter log)
    {
        var nodeId = slot.Node.NodeId;
        slot.Down = true;
        await slot.Node.KillAsync();
        var died = DateTime.UtcNow;
        await MarkInstancesDeadAsync(nodeId, died);
        await Task.Delay(downtime);
        if (newNodeId)
        {
            slot.Incarnation++;
            var port = slot.Port;
            var node = await StartWithRetryAsync(() => NodeProcess.StartAsync(NodeName(slot.Index, slot.Incarnation), _settings, port));
            lock (_gate)
            {
                _allProcesses.Add(node);
            }

            slot.Node = node;
        }
        else
        {
            await StartWithRetryAsync(async () => { await slot.Node.RestartAsync(); return slot.Node; });
        }

        slot.Down = false;
        log.WriteLine($"    {nodeId} -> {slot.Node.NodeId} up again");
    }

    private static async Task<NodeProcess> StartWithRetryAsync(Func<Task<NodeProcess>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (Exception) when (attempt < 5)
            {
                // The port may still be held for a moment after kill -9.
                await Task.Delay(1000);
            }
        }
    }

    /// <summary>Every instance of this NodeId known so far is dead now (the process that ran them is gone).</summary>
    private async Task MarkInstancesDeadAsync(string nodeId, DateTime died)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                var rows = await Postgres.QueryAsync(Database, "SELECT id FROM instances WHERE node_id = $1", nodeId);
                foreach (var row in rows)
                {
                    DeadInstances.TryAdd((string)row["id"]!, died);
                }

                return;
            }
            catch (Exception)
            {
                await Task.Delay(500);
            }
        }
    }

    public async Task KillRedisAsync(TimeSpan downtime)
    {
        await Redis.KillAsync();
        await Task.Delay(downtime);
        await Redis.RestartAsync();
    }

    /// <summary>DEBUG SLEEP (Redis answers nothing for that long), or SIGSTOP of redis-server when DEBUG is disabled.</summary>
    public async Task StallRedisAsync(double seconds)
    {
        try
        {
            await Redis.ExecuteAsync("DEBUG", "SLEEP", seconds.ToString(CultureInfo.InvariantCulture));
        }
        catch (StackExchange.Redis.RedisServerException ex) when (ex.Message.Contains("DEBUG", StringComparison.OrdinalIgnoreCase))
        {
            var pid = RedisPid() ?? throw new InvalidOperationException("redis-server pid not found.", ex);
            await SignalAsync("-STOP", pid);
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            await SignalAsync("-CONT", pid);
        }
    }

    private int? RedisPid()
    {
        // The pid of our own redis-server: the one listening on our port (its process title names it).
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.StartsWith("/usr/bin/redis-server", StringComparison.Ordinal) || cmdline.StartsWith("redis-server", StringComparison.Ordinal))
                {
                    if (cmdline.Contains($":{Redis.Port}", StringComparison.Ordinal) || cmdline.Contains($"--port {Redis.Port}", StringComparison.Ordinal))
                    {
                        return pid;
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    public Task KillPubSubAsync() => Redis.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");

    public async Task KillPostgresAsync(TimeSpan downtime)
    {
        lock (_gate)
        {
            DatabaseDown = true;
            DatabaseOutages.Add((DateTime.UtcNow, null));
        }

        await Postgres.KillAsync();
        await Task.Delay(downtime);
        await Postgres.RestartAsync();
        lock (_gate)
        {
            DatabaseDown = false;
            DatabaseOutages[^1] = DatabaseOutages[^1] with { End = DateTime.UtcNow };
        }
    }

    /// <summary>Thaws whatever is frozen (the run's end, or an exception).</summary>
    public async Task ThawAllAsync()
    {
        foreach (var slot in Slots)
        {
            if (slot.Node.ProcessId is { } pid)
            {
                await SignalAsync("-CONT", pid);
            }
        }
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
    }

    // ---- observation ----

    /// <summary>Reads the janitor's "Released task X" lines out of every node's log.</summary>
    public void ScanLogs()
    {
        List<NodeProcess> all;
        lock (_gate)
        {
            all = [.. _allProcesses];
        }

        foreach (var node in all)
        {
            foreach (Match match in ReleasedLine().Matches(node.Log))
            {
                JanitorReleased.TryAdd(match.Groups[1].Value, node.NodeId);
            }
        }
    }

    public IReadOnlyList<NodeProcess> AllProcesses()
    {
        lock (_gate)
        {
            return [.. _allProcesses];
        }
    }

    public (DateTime Start, DateTime? End)[] OutagesSnapshot()
    {
        lock (_gate)
        {
            return [.. DatabaseOutages];
        }
    }

    public (string NodeId, DateTime Start, DateTime? End)[] FreezesSnapshot()
    {
        lock (_gate)
        {
            return [.. Freezes];
        }
    }

    [GeneratedRegex(@"Released task (\S+) of node")]
    private static partial Regex ReleasedLine();

    public async ValueTask DisposeAsync()
    {
        await ThawAllAsync();
        foreach (var node in AllProcesses())
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
