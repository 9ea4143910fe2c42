using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace ChatPortal.Bench;

/// <summary>
/// Reads <c>INFO commandstats</c> over one plain RESP connection, so the benchmark's own traffic is exactly one
/// INFO per reading (no client handshake, keep-alive or tracer commands), and subtracts it from every delta.
/// </summary>
public sealed class RedisCommandStats : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _readings;

    private RedisCommandStats(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RedisCommandStats> ConnectAsync(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = colon < 0 ? endpoint : endpoint[..colon];
        var port = colon < 0 ? 6379 : int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture);
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(host, port);
        return new RedisCommandStats(client);
    }

    /// <summary>Calls per command since the server started (commands run by scripts included).</summary>
    public async Task<CommandCounts> ReadAsync()
    {
        var (text, reading) = await InfoAsync("commandstats");
        var calls = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries))
        {
            // cmdstat_get:calls=12,usec=40,...
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var colon = line.IndexOf(':');
            var field = line[(colon + 1)..].Split(',').First(p => p.StartsWith("calls=", StringComparison.Ordinal));
            calls[line[8..colon]] = long.Parse(field[6..], CultureInfo.InvariantCulture);
        }

        return new CommandCounts(calls, reading, Environment.TickCount64);
    }

    /// <summary>The redis-server's process id (<c>INFO server</c>), for its CPU time.</summary>
    public async Task<int?> ServerProcessIdAsync()
    {
        var (text, _) = await InfoAsync("server");
        var line = text.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.StartsWith("process_id:", StringComparison.Ordinal));
        return int.TryParse(line?["process_id:".Length..], CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    private async Task<(string Text, long Reading)> InfoAsync(string section)
    {
        await _gate.WaitAsync();
        try
        {
            var reading = ++_readings;
            var request = $"*2\r\n$4\r\nINFO\r\n${section.Length}\r\n{section}\r\n";
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(request));

            // Reply: $<length>\r\n<payload>\r\n
            var header = await ReadLineAsync();
            if (header.Length == 0 || header[0] != '$')
            {
                throw new InvalidOperationException($"Unexpected reply to INFO: {header}");
            }

            var length = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture);
            var payload = new byte[length + 2];
            await _stream.ReadExactlyAsync(payload);
            return (Encoding.UTF8.GetString(payload, 0, length), reading);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<string> ReadLineAsync()
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await _stream.ReadExactlyAsync(one);
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
        _gate.Dispose();
    }
}

/// <summary>One reading of INFO commandstats: calls per command, the reading's sequence number and time.</summary>
public sealed record CommandCounts(IReadOnlyDictionary<string, long> Calls, long Reading, long TakenAt)
{
    /// <summary>
    /// Calls between an earlier reading and this one, per command, without the benchmark's own INFO calls
    /// (each reading's INFO shows up in the next one).
    /// </summary>
    public CommandDelta Since(CommandCounts earlier)
    {
        var delta = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, calls) in Calls)
        {
            var before = earlier.Calls.TryGetValue(name, out var value) ? value : 0;
            if (name.Equals("info", StringComparison.OrdinalIgnoreCase))
            {
                before += Reading - earlier.Reading;
            }

            if (calls - before > 0)
            {
                delta[name] = calls - before;
            }
        }

        return new CommandDelta(delta, TimeSpan.FromMilliseconds(TakenAt - earlier.TakenAt));
    }
}

public sealed record CommandDelta(IReadOnlyDictionary<string, long> Calls, TimeSpan Elapsed)
{
    public static CommandDelta None { get; } = new(new Dictionary<string, long>(), TimeSpan.Zero);

    public long Total => Calls.Values.Sum();

    public CommandDelta Plus(CommandDelta other)
    {
        var sum = new Dictionary<string, long>(Calls, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, calls) in other.Calls)
        {
            sum[name] = sum.GetValueOrDefault(name) + calls;
        }

        return new CommandDelta(sum, Elapsed + other.Elapsed);
    }
}
