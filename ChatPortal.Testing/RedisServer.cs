using System.Diagnostics;
using StackExchange.Redis;

namespace ChatPortal.Testing;

/// <summary>
/// A real redis-server on a free loopback port, without persistence. Can be killed and restarted on the
/// same port to test outages, or stalled (<c>DEBUG SLEEP</c>, enabled for loopback clients).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private readonly string? _dataDirectory;

    private readonly IReadOnlyList<string> _arguments;

    private RedisServer(int port, string? dataDirectory, IReadOnlyList<string> arguments)
    {
        Port = port;
        _dataDirectory = dataDirectory;
        _arguments = arguments;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <param name="persistent">Keep data across a kill and restart (append-only file, fsync always), as a production Redis would.</param>
    /// <param name="arguments">More redis-server arguments (e.g. <c>--user</c> rules); the default user stays this harness's admin.</param>
    public static async Task<RedisServer> StartAsync(bool persistent = false, IReadOnlyList<string>? arguments = null)
    {
        var directory = persistent ? Directory.CreateTempSubdirectory("chatportal-redis-").FullName : null;
        var server = new RedisServer(FreePort.Next(), directory, arguments ?? []);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts (again) on the same port and waits until it answers PING.</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var executable = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] persistence = _dataDirectory is null
            ? ["--appendonly", "no"]
            : ["--appendonly", "yes", "--appendfsync", "always", "--dir", _dataDirectory];
        foreach (var arg in (string[])["--bind", "127.0.0.1", "--port", Port.ToString(), "--save", "", "--protected-mode", "no", "--enable-debug-command", "local", .. persistence, .. _arguments])
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                await using var connection = await ConnectAsync();
                await connection.GetDatabase().PingAsync();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>kill -9: an outage, not a shutdown.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>A separate admin connection (CLIENT KILL, INFO, FLUSHALL).</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { ConnectionString },
            AllowAdmin = true,
            AbortOnConnectFail = true,
            ConnectTimeout = 2000,
            ClientName = "chatportal-tests",
        });

    /// <summary>Runs a server command on a fresh admin connection.</summary>
    public async Task<RedisResult> ExecuteAsync(string command, params object[] args)
    {
        await using var connection = await ConnectAsync();
        return await connection.GetDatabase().ExecuteAsync(command, args);
    }

    /// <summary>
    /// <c>DEBUG SLEEP</c>: the server answers nobody for <paramref name="duration"/> (connections stay open, commands
    /// queue), then goes on. Returns once the server has stopped answering (a probe's PING goes unanswered); the
    /// task it returns completes when the server is awake again.
    /// </summary>
    public async Task<Task> BeginStallAsync(TimeSpan duration)
    {
        var sleeper = await ConnectAsync(duration + TimeSpan.FromSeconds(10));
        var probe = await ConnectAsync(TimeSpan.FromSeconds(5));
        var asleep = sleeper.GetDatabase().ExecuteAsync("DEBUG", "SLEEP", duration.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            while (!asleep.IsCompleted)
            {
                try
                {
                    await probe.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromMilliseconds(300));
                }
                catch (TimeoutException)
                {
                    return AwakeAsync(asleep, sleeper, probe);
                }

                await Task.Delay(20);
            }

            await asleep; // DEBUG refused, or a sleep too short to be seen
            throw new InvalidOperationException("The server never stopped answering.");
        }
        catch
        {
            await sleeper.DisposeAsync();
            await probe.DisposeAsync();
            throw;
        }

        static async Task AwakeAsync(Task asleep, ConnectionMultiplexer sleeper, ConnectionMultiplexer probe)
        {
            try
            {
                await asleep;
            }
            finally
            {
                await sleeper.DisposeAsync();
                await probe.DisposeAsync();
            }
        }
    }

    private Task<ConnectionMultiplexer> ConnectAsync(TimeSpan timeout) =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { ConnectionString },
            AllowAdmin = true,
            AbortOnConnectFail = true,
            ConnectTimeout = 2000,
            AsyncTimeout = (int)timeout.TotalMilliseconds,
            SyncTimeout = (int)timeout.TotalMilliseconds,
            ClientName = "chatportal-tests",
        });

    /// <summary>INFO commandstats as command -> calls.</summary>
    public async Task<Dictionary<string, long>> CommandStatsAsync()
    {
        var info = (string?)await ExecuteAsync("INFO", "commandstats") ?? "";
        var stats = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
        {
            // cmdstat_get:calls=12,usec=40,...
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var colon = line.IndexOf(':');
            var name = line[8..colon];
            var calls = line[(colon + 1)..].Split(',').First(p => p.StartsWith("calls=", StringComparison.Ordinal))[6..];
            stats[name] = long.Parse(calls, System.Globalization.CultureInfo.InvariantCulture);
        }

        return stats;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        if (_dataDirectory is not null)
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
