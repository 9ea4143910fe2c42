using System.Diagnostics;
using System.Globalization;

namespace ChatPortal.Testing;

/// <summary>
/// <c>./cluster.sh</c> run for a test: its own directory and free ports for the balancer, the nodes, redis-server and
/// PostgreSQL, the published node, and settings passed on to every node.
/// </summary>
public sealed class ClusterScript(IReadOnlyDictionary<string, string> settings)
{
    /// <summary>The most nodes a test starts with <c>up N</c> (the block of ports kept free for them).</summary>
    public const int MaxNodes = 8;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("chatportal-cluster-").FullName;

    public int BalancerPort { get; } = FreePort.Next();

    /// <summary>The first node's port; node i takes <c>BasePort + i - 1</c>, so a block of free ports is reserved.</summary>
    public int BasePort { get; } = FreePort.NextBlock(MaxNodes);

    public int RedisPort { get; } = FreePort.Next();

    public int PostgresPort { get; } = FreePort.Next();

    /// <summary>Runs <c>./cluster.sh</c> with <paramref name="args"/>; its exit code and its output.</summary>
    public async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(RepositoryPaths.Root, "cluster.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryPaths.Root,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["CLUSTER_DIR"] = Directory;
        info.Environment["CLUSTER_LB_PORT"] = BalancerPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["CLUSTER_BASE_PORT"] = BasePort.ToString(CultureInfo.InvariantCulture);
        info.Environment["CLUSTER_REDIS_PORT"] = RedisPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["CLUSTER_POSTGRES_PORT"] = PostgresPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["CHATPORTAL_NODE_DIR"] = RepositoryPaths.NodeDirectory;
        foreach (var (key, value) in settings)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await stdout + await stderr);
    }

    public void DeleteDirectory()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A node still writing its log as it dies: the temp directory is left to the system.
        }
    }
}
