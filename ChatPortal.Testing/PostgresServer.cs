using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace ChatPortal.Testing;

/// <summary>
/// A real throwaway PostgreSQL (the newest under <c>/usr/lib/postgresql/*/bin</c>) on a free loopback port, with
/// its data directory in a temp directory that is deleted on dispose. The superuser is <c>chatportal</c> with
/// trust authentication. fsync stays on: tests kill it with -9 and expect committed data back after a restart.
/// initdb and postgres refuse to run as root, so as root both run as the <c>postgres</c> user (runuser).
/// </summary>
public sealed partial class PostgresServer : IAsyncDisposable
{
    public const string User = "chatportal";

    /// <summary>Connections one node may hold (Npgsql's default is 100; several clusters share one server of 300).</summary>
    public const int DefaultMaxPoolSize = 20;

    private const string DirectoryPrefix = "chatportal-pg-";

    /// <summary>The pid of the process that started the server, in its root directory.</summary>
    private const string OwnerFile = "owner";

    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(StartSharedAsync);

    private readonly ConcurrentQueue<string> _log = new();
    private readonly string _binDirectory;
    private readonly string _rootDirectory;
    private Process? _process;
    private bool _shared;

    private PostgresServer(int port, string binDirectory, string rootDirectory)
    {
        Port = port;
        _binDirectory = binDirectory;
        _rootDirectory = rootDirectory;
    }

    public int Port { get; }

    /// <summary>The cluster's data directory (PGDATA); also where its Unix socket is.</summary>
    public string DataDirectory => Path.Combine(_rootDirectory, "data");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What postgres wrote to stdout and stderr, for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>The directory with initdb and postgres: the highest version under /usr/lib/postgresql.</summary>
    public static string? FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.GetDirectories(root)
            .Select(d => (Directory: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .Where(d => d.Version >= 0 && File.Exists(Path.Combine(d.Directory, "bin", "initdb")))
            .OrderByDescending(d => d.Version)
            .Select(d => Path.Combine(d.Directory, "bin"))
            .FirstOrDefault();
    }

    /// <summary>initdb in a fresh temp directory, then start and wait until it accepts connections.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql, or run ./test.sh.");
        SweepAbandoned();
        var root = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(root, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var server = new PostgresServer(FreePort.Next(), bin, root);
        try
        {
            Directory.CreateDirectory(server.DataDirectory);
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", root]);
            }

            // -N: initdb's own fsync is skipped (a crash during initdb is not a case we test); the server keeps fsync on.
            await RunAsync(server.AsPostgres("initdb"), ["-D", server.DataDirectory, "-U", User, "--auth=trust", "-E", "UTF8", "--locale=C", "-N"], server.AsPostgresPrefix("initdb"));
            await server.RestartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// One server for the whole test process, started on first use and killed (its directory deleted) when the
    /// process exits. Give each cluster its own database. Never kill or stop it: a test that breaks PostgreSQL
    /// starts its own with <see cref="StartAsync"/>.
    /// </summary>
    public static Task<PostgresServer> SharedAsync() => SharedServer.Value;

    private static async Task<PostgresServer> StartSharedAsync()
    {
        var server = await StartAsync();
        server._shared = true;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.ShutDownForExit();
        return server;
    }

    /// <summary>Starts (again) on the same port and data directory and waits until it accepts connections.</summary>
    public async Task RestartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        RemoveStalePidFile();
        var info = new ProcessStartInfo(AsPostgres("postgres"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            .. AsPostgresPrefix("postgres"),
            "-D", DataDirectory,
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-k", DataDirectory,
            "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=300",
            "-c", "shared_buffers=32MB",
            "-c", "fsync=on",
            "-c", "synchronous_commit=on",
            "-c", "full_page_writes=on",
            "-c", "logging_collector=off",
            "-c", "log_min_messages=warning",
        ];
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("postgres did not start.");
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await using var connection = await OpenAsync();
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"postgres exited with {_process.ExitCode}:\n{Log}", ex);
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"postgres did not accept connections on port {Port}:\n{Log}", ex);
                }

                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// kill -9 of the postmaster and every process under it (backends, checkpointer, walwriter): an outage, not a
    /// shutdown. Returns when all of them are gone, so <see cref="RestartAsync"/> can run crash recovery.
    /// </summary>
    public async Task KillAsync()
    {
        ThrowIfShared();
        await KillTreeAsync();
    }

    /// <summary>A graceful stop (SIGINT to the postmaster: fast shutdown, checkpoint, exit).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        ThrowIfShared();
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        var postmaster = ReadPostmasterPid() ?? process.Id;
        await RunAsync("kill", ["-INT", postmaster.ToString(CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await KillTreeAsync();
        }
    }

    /// <summary>An Npgsql connection string for a database on this server (pooled, as a node would use it).</summary>
    public string ConnectionStringFor(string database, int maxPoolSize = DefaultMaxPoolSize) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = User,
            Database = database,
            MaxPoolSize = maxPoolSize,
        }.ConnectionString;

    /// <summary>A database name nobody else uses: <paramref name="prefix"/> plus a random suffix.</summary>
    public static string UniqueName(string prefix = "db") => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 13)];

    /// <summary>CREATE DATABASE; returns its connection string (see <see cref="ConnectionStringFor"/>).</summary>
    public async Task<string> CreateDatabaseAsync(string name, int maxPoolSize = DefaultMaxPoolSize)
    {
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain database name (lower-case letters, digits, _; at most 63).", nameof(name));
        }

        await ExecuteAsync("postgres", $"CREATE DATABASE \"{name}\"");
        return ConnectionStringFor(name, maxPoolSize);
    }

    /// <summary>An open admin connection without pooling (so nothing stale survives a kill and restart).</summary>
    public async Task<NpgsqlConnection> OpenAsync(string database = "postgres")
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionStringFor(database))
        {
            Pooling = false,
            Timeout = 5,
            CommandTimeout = 30,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a statement; parameters are positional (<c>$1</c>, <c>$2</c>…). Returns the rows affected.</summary>
    public async Task<int> ExecuteAsync(string database, string sql, params object?[] parameters)
    {
        await using var connection = await OpenAsync(database);
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row (null when there is no row or it is NULL).</summary>
    public async Task<object?> ExecuteScalarAsync(string database, string sql, params object?[] parameters)
    {
        await using var connection = await OpenAsync(database);
        await using var command = Command(connection, sql, parameters);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    /// <summary>Every row as column name -> value (NULL as null).</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, object?>>> QueryAsync(string database, string sql, params object?[] parameters)
    {
        await using var connection = await OpenAsync(database);
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<IReadOnlyDictionary<string, object?>>();
        while (await reader.ReadAsync())
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        if (_shared)
        {
            // The shared server lives as long as the test process; ShutDownForExit ends it.
            return;
        }

        await KillTreeAsync();
        _process?.Dispose();
        DeleteRoot();
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object?[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        return command;
    }

    /// <summary>
    /// Servers whose test process died (a crashed or killed test host never runs its exit handler, and the test
    /// runner kills a host that takes long to exit): kill what is left of their postgres and delete their directory.
    /// </summary>
    private static void SweepAbandoned()
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            if (ReadPid(Path.Combine(root, OwnerFile)) is not { } owner || IsAlive(owner))
            {
                continue;
            }

            try
            {
                if (ReadPid(Path.Combine(root, "data", "postmaster.pid")) is { } postmaster && IsAlive(postmaster))
                {
                    using var orphan = Process.GetProcessById(postmaster);
                    orphan.Kill(entireProcessTree: true);
                }

                Directory.Delete(root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // Best effort: another test process may be sweeping the same directory right now.
                Debug.WriteLine($"Could not sweep {root}: {ex.Message}");
            }
        }
    }

    private void ThrowIfShared()
    {
        if (_shared)
        {
            throw new InvalidOperationException("The shared PostgreSQL serves every cluster of this test run; start your own with PostgresServer.StartAsync() to break it.");
        }
    }

    private void ShutDownForExit()
    {
        KillTreeAsync().GetAwaiter().GetResult();

        // The test runner kills a host that is slow to exit, which cut short an in-process delete of the data
        // directory: hand it to an rm that outlives this process (SweepAbandoned catches whatever is left).
        using var rm = Process.Start(new ProcessStartInfo("rm", ["-rf", _rootDirectory]) { UseShellExecute = false });
    }

    private void DeleteRoot()
    {
        if (Directory.Exists(_rootDirectory))
        {
            Directory.Delete(_rootDirectory, recursive: true);
        }
    }

    private async Task KillTreeAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        // runuser -> postmaster -> backends. Backends make themselves session leaders, so a process-group kill
        // would miss them: walk the tree by parent pid, kill -9 all of it, and wait until none is left.
        var tree = Descendants(process.Id).Prepend(process.Id).ToList();
        foreach (var pid in tree)
        {
            try
            {
                using var member = Process.GetProcessById(pid);
                member.Kill();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone between listing and killing: that is what we want.
            }
        }

        await process.WaitForExitAsync();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (tree.Any(IsAlive))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"postgres processes {string.Join(", ", tree.Where(IsAlive))} survived kill -9.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// After kill -9 the lock files stay behind: postmaster.pid and the socket's .s.PGSQL.PORT.lock, both naming the
    /// dead postmaster. postgres ignores them when that pid is gone, but an unreaped (zombie) postmaster, as left by
    /// a container init that does not reap orphans, still "exists" to kill(pid, 0): remove them when it is not alive.
    /// </summary>
    private void RemoveStalePidFile()
    {
        foreach (var file in Directory.EnumerateFiles(DataDirectory, ".s.PGSQL.*.lock").Prepend(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            if (ReadPid(file) is { } pid && !IsAlive(pid))
            {
                File.Delete(file);
            }
        }
    }

    private int? ReadPostmasterPid() => ReadPid(Path.Combine(DataDirectory, "postmaster.pid"));

    private static int? ReadPid(string file)
    {
        try
        {
            var first = File.ReadLines(file).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            // Missing or being rewritten: no postmaster to speak of.
            return null;
        }
    }

    /// <summary>Alive = listed in /proc and not a zombie (an orphan the container's init never reaps).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            // No /proc entry: the process is gone.
            return false;
        }
    }

    private static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // pid (comm) state ppid ...; comm may contain spaces and parentheses.
                var stat = File.ReadAllText(Path.Combine(entry, "stat"));
                var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(ppid, out var list))
                {
                    children[ppid] = list = [];
                }

                list.Add(pid);
            }
            catch (IOException)
            {
                // The process ended while we listed /proc: not part of any tree any more.
            }
        }

        var result = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.TryDequeue(out var parent))
        {
            foreach (var child in children.GetValueOrDefault(parent) ?? [])
            {
                result.Add(child);
                pending.Enqueue(child);
            }
        }

        return result;
    }

    /// <summary>As root: <c>runuser</c> (initdb and postgres refuse root); otherwise the binary itself.</summary>
    private string AsPostgres(string binary) =>
        Environment.IsPrivilegedProcess ? "runuser" : Path.Combine(_binDirectory, binary);

    /// <summary>The arguments before a binary's own: <c>-u postgres -- /usr/lib/postgresql/N/bin/X</c> under runuser.</summary>
    private string[] AsPostgresPrefix(string binary) =>
        Environment.IsPrivilegedProcess ? ["-u", "postgres", "--", Path.Combine(_binDirectory, binary)] : [];

    private static async Task RunAsync(string file, IEnumerable<string> args, IEnumerable<string>? prefix = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (prefix ?? []).Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', info.ArgumentList)} failed ({process.ExitCode}):\n{await output}\n{await error}");
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 500)
        {
            _log.TryDequeue(out _);
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();
}
