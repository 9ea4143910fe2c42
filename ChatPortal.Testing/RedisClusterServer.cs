using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace ChatPortal.Testing;

/// <summary>
/// A real Redis Cluster on loopback: N primaries (no replicas), each a <c>redis-server --cluster-enabled yes</c> in
/// a temp directory of its own, without persistence, joined by <c>redis-cli --cluster create</c> and ready once
/// every node says <c>cluster_state:ok</c>. The directories are deleted on dispose.
/// </summary>
public sealed class RedisClusterServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly List<Process> _processes = [];

    private RedisClusterServer(string directory, IReadOnlyList<int> ports)
    {
        _directory = directory;
        Ports = ports;
    }

    /// <summary>The client ports of the primaries.</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>Every primary, comma-separated: what a node's <c>ChatPortal:Redis</c> lists.</summary>
    public string ConnectionString => string.Join(',', Ports.Select(p => $"127.0.0.1:{p}"));

    public static async Task<RedisClusterServer> StartAsync(int shards = 3)
    {
        var directory = Directory.CreateTempSubdirectory("chatportal-redis-cluster-").FullName;
        var cluster = new RedisClusterServer(directory, [.. Enumerable.Range(0, shards).Select(_ => FreePort.Next())]);
        try
        {
            foreach (var port in cluster.Ports)
            {
                cluster.StartNode(port);
            }

            foreach (var port in cluster.Ports)
            {
                await WaitAsync(() => PingAsync(port), TimeSpan.FromSeconds(15), $"redis-server on {port} answers PING");
            }

            await cluster.CreateAsync();
            foreach (var port in cluster.Ports)
            {
                await WaitAsync(async () => (await CliAsync("-p", Text(port), "CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30), $"node {port} reports cluster_state:ok");
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A separate admin connection to the whole cluster (the client follows the slots).</summary>
    public Task<ConnectionMultiplexer> ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(ConnectionString);
        configuration.AllowAdmin = true;
        configuration.AbortOnConnectFail = true;
        configuration.ConnectTimeout = 5000;
        configuration.ClientName = "chatportal-tests";
        return ConnectionMultiplexer.ConnectAsync(configuration);
    }

    /// <summary>
    /// Subscribers of a sharded channel (<c>PUBSUB SHARDNUMSUB</c>) on each primary, by client port: a sharded
    /// channel lives on the one shard that owns its slot, so every other primary answers 0.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, long>> ShardSubscribersAsync(string channel)
    {
        var counts = new Dictionary<int, long>();
        foreach (var port in Ports)
        {
            // Answers "channel\ncount".
            var output = await CliAsync("-p", Text(port), "PUBSUB", "SHARDNUMSUB", channel);
            counts[port] = long.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1], CultureInfo.InvariantCulture);
        }

        return counts;
    }

    private void StartNode(int port)
    {
        var directory = Path.Combine(_directory, Text(port));
        Directory.CreateDirectory(directory);
        var info = new ProcessStartInfo(File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // The cluster bus listens on its own free port (the default, port + 10000, may be out of range or taken).
        string[] args =
        [
            "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(directory, "nodes.conf"),
            "--cluster-port", Text(FreePort.Next()),
            "--port", Text(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", directory,
        ];
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
    }

    private async Task CreateAsync()
    {
        string[] args = ["--cluster", "create", .. Ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"];
        var output = await CliAsync(args);
        if (!output.Contains("All 16384 slots covered", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed:\n{output}");
        }
    }

    private static async Task<bool> PingAsync(int port)
    {
        try
        {
            return (await CliAsync("-p", Text(port), "PING")).Trim() == "PONG";
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Runs redis-cli against 127.0.0.1 and returns its output; throws when it fails.</summary>
    private static async Task<string> CliAsync(params string[] args)
    {
        var info = new ProcessStartInfo(File.Exists("/usr/bin/redis-cli") ? "/usr/bin/redis-cli" : "redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-h");
        info.ArgumentList.Add("127.0.0.1");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-cli did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        if (process.ExitCode != 0 || output.StartsWith("Could not connect", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', args)} failed ({process.ExitCode}):\n{output}");
        }

        return output;
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting until {what}.");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
