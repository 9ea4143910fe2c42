using System.Diagnostics;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// <c>./cluster.sh up N</c> for real, in a temp directory on free ports: PostgreSQL, redis-server, N published nodes
/// (node-1…) and Debian's nginx with deploy/nginx/chatportal.conf in front of them, so a browser goes through the
/// balancer's sticky routing and its failover exactly as in production. Nodes can be stopped gracefully (SIGTERM)
/// or killed outright (SIGKILL); <c>./cluster.sh down</c> ends the rest.
/// </summary>
public sealed class BalancedCluster : IAsyncDisposable
{
    private readonly ClusterScript _script;

    private BalancedCluster(IReadOnlyDictionary<string, string> settings) => _script = new ClusterScript(settings);

    /// <summary>The balancer: what a browser talks to.</summary>
    public string Url => $"http://127.0.0.1:{_script.BalancerPort}";

    /// <param name="settings"><c>ChatPortal__*</c> settings, passed on to every node.</param>
    public static async Task<BalancedCluster> StartAsync(int nodes, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodes, ClusterScript.MaxNodes);
        var cluster = new BalancedCluster(settings);
        try
        {
            var (code, output) = await cluster._script.RunAsync("up", nodes.ToString());
            if (code != 0)
            {
                throw new InvalidOperationException($"cluster.sh up failed ({code}):\n{output}\n{cluster.Logs()}");
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A node's own address, past the balancer (node-1 is the first).</summary>
    public string NodeUrl(string nodeId) => $"http://127.0.0.1:{_script.BasePort + NodeNumber(nodeId) - 1}";

    /// <summary>SIGTERM: the graceful stop of a rolling restart.</summary>
    public Task StopAsync(string nodeId) => SignalAsync(nodeId, "TERM");

    /// <summary>SIGKILL: the process ends at once, nothing runs on its way out.</summary>
    public Task KillAsync(string nodeId) => SignalAsync(nodeId, "KILL");

    /// <summary>Waits until the node's process has ended (a zombie counts: nobody may reap an orphan here).</summary>
    public async Task WaitForExitAsync(string nodeId, TimeSpan timeout)
    {
        var pid = await ProcessIdAsync(nodeId);
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{nodeId} (pid {pid}) still runs after {timeout.TotalSeconds} s.\n{NodeLog(nodeId)}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>What a node wrote to stdout and stderr.</summary>
    public string NodeLog(string nodeId)
    {
        var path = Path.Combine(_script.Directory, "logs", nodeId + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>Every log of the cluster, for a failure message.</summary>
    public string Logs()
    {
        var logs = Path.Combine(_script.Directory, "logs");
        return Directory.Exists(logs)
            ? string.Join('\n', Directory.GetFiles(logs).Order().Select(f => $"--- {Path.GetFileName(f)}\n{Tail(File.ReadAllText(f))}"))
            : "";
    }

    public async ValueTask DisposeAsync()
    {
        await _script.RunAsync("down");
        try
        {
            // The logs outlive the cluster, for a failure: artifacts/cluster-logs/<its directory's name>.
            var logs = Path.Combine(_script.Directory, "logs");
            var kept = Path.Combine(RepositoryPaths.ArtifactsDirectory, "cluster-logs", Path.GetFileName(_script.Directory));
            Directory.CreateDirectory(kept);
            foreach (var file in Directory.Exists(logs) ? Directory.GetFiles(logs) : [])
            {
                File.Copy(file, Path.Combine(kept, Path.GetFileName(file)), overwrite: true);
            }

            _script.DeleteDirectory();
        }
        catch (IOException)
        {
            // PostgreSQL may still be removing its files; the temp directory is left behind then.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task SignalAsync(string nodeId, string signal)
    {
        var pid = await ProcessIdAsync(nodeId);
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString()]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} ({nodeId}) failed.");
        }
    }

    private async Task<int> ProcessIdAsync(string nodeId) =>
        int.Parse((await File.ReadAllTextAsync(Path.Combine(_script.Directory, nodeId + ".pid"))).Trim());

    private static bool IsAlive(int pid)
    {
        try
        {
            // The state is the field after the parenthesised command name: Z (zombie) and X (dead) have ended.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is not ("Z" or "X");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int NodeNumber(string nodeId) =>
        nodeId.StartsWith("node-", StringComparison.Ordinal) && int.TryParse(nodeId[5..], out var n) && n > 0
            ? n
            : throw new ArgumentException($"Not a node of cluster.sh: '{nodeId}'.", nameof(nodeId));

    private static string Tail(string text, int lines = 60) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
