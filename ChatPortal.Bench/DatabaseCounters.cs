using System.Globalization;
using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.Bench;

/// <summary>
/// The nodes' own database figures, read live from each node's <c>/metrics</c> (the observable counters
/// <c>chatportal.db.statements</c> and <c>chatportal.db.transactions</c> of <c>DbStatementCounter</c>): every node is
/// asked, so no heartbeat delay sits between an answer's commit and its count.
/// </summary>
public sealed partial class NodeDatabaseCounters(IReadOnlyList<Uri> nodes) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Sum over the nodes; null when a node does not export the counters (an older node).</summary>
    public async Task<DatabaseCounts?> ReadAsync()
    {
        var at = Environment.TickCount64;
        var texts = await Task.WhenAll(nodes.Select(n => _http.GetStringAsync(new Uri(n, "metrics"))));
        long statements = 0, transactions = 0, titleWrites = 0;
        foreach (var text in texts)
        {
            if (Counter(text, "statements") is not { } s || Counter(text, "transactions") is not { } t)
            {
                return null;
            }

            statements += s;
            transactions += t;
            titleWrites += Counter(text, "title_writes") ?? 0;
        }

        return new DatabaseCounts(statements, transactions, titleWrites, at);
    }

    /// <summary><c>chatportal_db_statements_total 1234</c> (unit suffixes and labels tolerated).</summary>
    private static long? Counter(string text, string name)
    {
        var match = Regex.Match(text, $@"^chatportal_db_{name}(?:_total)?(?:\{{[^}}]*\}})?\s+([0-9.eE+]+)", RegexOptions.Multiline);
        return match.Success ? (long)double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Totals since the nodes started, at <see cref="At"/> (Environment.TickCount64).</summary>
/// <param name="TitleWrites">Model-written titles stored: one statement and one transaction each, also counted in the
/// other two (<c>chatportal.db.title_writes</c>).</param>
public sealed record DatabaseCounts(long Statements, long Transactions, long TitleWrites, long At)
{
    public DatabaseDelta Since(DatabaseCounts earlier) =>
        new(Statements - earlier.Statements, Transactions - earlier.Transactions, TimeSpan.FromMilliseconds(At - earlier.At), TitleWrites - earlier.TitleWrites);
}

public sealed record DatabaseDelta(long Statements, long Transactions, TimeSpan Elapsed, long TitleWrites = 0)
{
    public static DatabaseDelta None { get; } = new(0, 0, TimeSpan.Zero);

    public DatabaseDelta Plus(DatabaseDelta other) =>
        new(Statements + other.Statements, Transactions + other.Transactions, Elapsed + other.Elapsed, TitleWrites + other.TitleWrites);
}

/// <summary>
/// PostgreSQL's own view: <c>pg_stat_database.xact_commit</c> of the bench database, read from the <c>postgres</c>
/// database (so the reading itself is not counted). PostgreSQL 15+ backends flush their counts at most once a
/// second and, once idle, only after up to 10 s, so a reading is complete only for commits at least
/// <see cref="FlushDelay"/> old: the benchmark waits that long before each reading.
/// </summary>
public sealed class PostgresCommitStats(PostgresServer server, string database)
{
    public static readonly TimeSpan FlushDelay = TimeSpan.FromSeconds(10.5);

    public async Task<long> ReadAsync() =>
        Convert.ToInt64(await server.ExecuteScalarAsync("postgres", "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database), CultureInfo.InvariantCulture);

    /// <summary>The postmaster and its children (backends, checkpointer, walwriter…), for their CPU time.</summary>
    public IReadOnlyList<int> ProcessIds()
    {
        var pidFile = Path.Combine(server.DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), CultureInfo.InvariantCulture, out var postmaster))
        {
            return [];
        }

        var pids = new List<int> { postmaster };
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
            {
                // Gone meanwhile.
            }
        }

        return pids;
    }
}

/// <summary>CPU time of a changing set of processes (PostgreSQL backends come and go) between two readings.</summary>
public sealed class ProcessSetCpu(Func<IReadOnlyList<int>> pids)
{
    private Dictionary<int, TimeSpan> _start = [];

    public void Start() => _start = pids().ToDictionary(p => p, ProcessStats.CpuTime);

    /// <summary>CPU since <see cref="Start"/>; processes born since count from zero, processes gone are lost.</summary>
    public TimeSpan Stop() => pids().Aggregate(TimeSpan.Zero, (sum, pid) => sum + ProcessStats.CpuTime(pid) - _start.GetValueOrDefault(pid));
}
