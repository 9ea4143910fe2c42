using System.Collections.Concurrent;
using System.Diagnostics;

namespace ChatPortal.Testing;

/// <summary>
/// A real ChatPortal node: <c>dotnet ChatPortal.dll --urls http://127.0.0.1:PORT</c> from the publish folder,
/// in Production, configured through environment variables as an operator would.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    public const string AdminPassword = "test-admin-password";

    private readonly ConcurrentQueue<string> _log = new();
    private readonly Dictionary<string, string> _settings;
    private Process? _process;

    /// <summary>The temp data directory this node owns (deleted on dispose); null when the caller chose one.</summary>
    private readonly string? _ownDataDirectory;

    private NodeProcess(string nodeId, int port, Dictionary<string, string> settings, string? ownDataDirectory)
    {
        NodeId = nodeId;
        Port = port;
        _settings = settings;
        _ownDataDirectory = ownDataDirectory;
    }

    public string NodeId { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public string Url => $"http://127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The node's process id while it runs (for /proc figures: CPU time, resident memory).</summary>
    public int? ProcessId => IsRunning ? _process!.Id : null;

    /// <summary>
    /// Where the node keeps its files (<c>ChatPortal__DataDirectory</c>: the SQLite database of a single node). By
    /// default a temp directory of its own, kept across <see cref="RestartAsync"/> and deleted on dispose, so nodes
    /// started from the same publish folder never share <c>data/</c>.
    /// </summary>
    public string DataDirectory => _settings[DataDirectoryKey];

    private const string DataDirectoryKey = "ChatPortal__DataDirectory";

    /// <summary>What the node wrote to stdout and stderr, for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <param name="settings">Configuration as <c>ChatPortal__Key__Sub</c> style keys, e.g. <c>ChatPortal__Redis</c>.</param>
    public static async Task<NodeProcess> StartAsync(string nodeId, IDictionary<string, string>? settings = null, int? port = null)
    {
        var all = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ChatPortal__NodeId"] = nodeId,
            ["ChatPortal__Admin__Password"] = AdminPassword,
            ["ChatPortal__ShutdownDrainSeconds"] = "2",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__ChatPortal"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }

        string? own = null;
        if (!all.ContainsKey(DataDirectoryKey))
        {
            own = Directory.CreateTempSubdirectory($"chatportal-{nodeId}-").FullName;
            all[DataDirectoryKey] = own;
        }

        var node = new NodeProcess(nodeId, port ?? FreePort.Next(), all, own);
        try
        {
            await node.RestartAsync();
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>
    /// A new node with this node's settings under another NodeId, on this node's port unless told otherwise: an
    /// operator bringing a dead node back under a new name. It gets a data directory of its own.
    /// </summary>
    public Task<NodeProcess> StartReplacementAsync(string nodeId, int? port = null)
    {
        var settings = new Dictionary<string, string>(_settings);
        settings.Remove("ChatPortal__NodeId");
        if (_ownDataDirectory is not null)
        {
            settings.Remove(DataDirectoryKey);
        }

        return StartAsync(nodeId, settings, port ?? Port);
    }

    /// <summary>Starts (again) on the same port and waits for /healthz.</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var directory = RepositoryPaths.NodeDirectory;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(directory, "ChatPortal.dll"));
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(Url);
        foreach (var (key, value) in _settings)
        {
            info.Environment[key] = value;
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("The node did not start.");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Node {NodeId} exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                if ((await http.GetAsync("healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Node {NodeId} did not become healthy:\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>kill -9: the node dies with its tasks, nothing runs its shutdown.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM: a graceful stop, as in a rolling restart.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 2000)
        {
            _log.TryDequeue(out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        if (_ownDataDirectory is not null && Directory.Exists(_ownDataDirectory))
        {
            Directory.Delete(_ownDataDirectory, recursive: true);
        }
    }
}
