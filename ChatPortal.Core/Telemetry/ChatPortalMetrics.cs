using System.Diagnostics;
using System.Diagnostics.Metrics;
using ChatPortal.Core.Storage;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Core.Telemetry;

/// <summary>
/// The one <see cref="Meter"/> named "ChatPortal" (exported at /metrics as <c>chatportal_*</c>) and the
/// rolling figures the admin page shows. Both are fed by the same calls, so they agree.
/// </summary>
public sealed class ChatPortalMetrics : IDisposable
{
    public const string Name = "ChatPortal";
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private readonly Counter<long> _answers;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _cancels;
    private readonly Histogram<double> _cancelLatency;
    private readonly Histogram<double> _coordinationMs;
    private readonly Histogram<long> _redisCommands;
    private readonly Histogram<long> _redisRoundTrips;
    private readonly RollingWindow _cancelLatencies = new(2048);
    private readonly RollingWindow _overheadMs = new(2048);
    private readonly RollingWindow _commandsPerAnswer = new(2048);
    private readonly RollingWindow _roundTripsPerAnswer = new(2048);
    private long _answerCount;
    private long _cancelAttempts;
    private long _cancelFirstAttemptSuccesses;
    private readonly DbStatementCounter? _database;

    /// <param name="database">The node's database counter; null where the node has no database (some tests).</param>
    public ChatPortalMetrics(IMeterFactory meterFactory, LocalTaskRegistry registry, Coordination.CoordinationHealth health, DbStatementCounter? database = null)
    {
        _database = database;
        _meter = meterFactory.Create(Name);
        _answers = _meter.CreateCounter<long>("chatportal.answers", "{answer}", "Answers ended, by final status.");
        _tokens = _meter.CreateCounter<long>("chatportal.tokens", "{token}", "Tokens streamed to users.");
        _cancels = _meter.CreateCounter<long>("chatportal.cancel.requests", "{request}", "Cancel requests for running tasks, by result.");
        _cancelLatency = _meter.CreateHistogram<double>("chatportal.cancel.latency", "ms", "Cancel accepted to generation stopped.");
        _coordinationMs = _meter.CreateHistogram<double>("chatportal.coordination.overhead", "ms", "Time an answer spent waiting on coordination (register + complete).");
        _redisCommands = _meter.CreateHistogram<long>("chatportal.redis.commands_per_answer", "{command}", "Redis commands one answer caused.");
        _redisRoundTrips = _meter.CreateHistogram<long>("chatportal.redis.round_trips_per_answer", "{round_trip}", "Redis round trips one answer caused.");
        _meter.CreateObservableGauge("chatportal.tasks.active", () => registry.Count, "{task}", "Generations running on this node.");
        _meter.CreateObservableGauge("chatportal.tasks.oldest_age", () => registry.All.Select(t => (DateTimeOffset.UtcNow - t.Info.StartedAt).TotalSeconds).DefaultIfEmpty(0).Max(),
            "s", "Age of the longest-running answer on this node.");
        _meter.CreateObservableGauge("chatportal.redis.up", () => health.State switch
        {
            Coordination.RedisState.Healthy => 1,
            Coordination.RedisState.Degraded => 1,
            Coordination.RedisState.Down => 0,
            _ => -1,
        }, null, "1 while Redis answers, 0 while it is unreachable, -1 on a single node without Redis.");
        _meter.CreateObservableGauge("chatportal.cancel.subscription.alive", () => health.SubscriptionAlive ? 1 : 0, null,
            "1 while the watchdog proves this node's cancel subscription delivers messages.");
        _meter.CreateObservableCounter("chatportal.db.statements", () => DatabaseStatements, "{statement}",
            "Statements this node sent to the database since it started.");
        _meter.CreateObservableCounter("chatportal.db.transactions", () => DatabaseTransactions, "{transaction}",
            "Database transactions this node committed since it started (a statement outside an explicit transaction counts as one).");
        _meter.CreateObservableCounter("chatportal.db.title_writes", () => _database?.TitleWrites ?? 0, "{statement}",
            "Model-written titles this node stored since it started (one statement each, counted in the statements and transactions too).");
    }

    /// <summary>Statements this node sent to the database since it started (0 without a database).</summary>
    public long DatabaseStatements => _database?.Statements ?? 0;

    /// <summary>Transactions this node committed since it started (0 without a database).</summary>
    public long DatabaseTransactions => _database?.Transactions ?? 0;

    public long Answers => Interlocked.Read(ref _answerCount);

    public void AnswerEnded(GenerationStatus status, int tokens, double coordinationMs, int redisCommands, int redisRoundTrips)
    {
        Interlocked.Increment(ref _answerCount);
        var tag = new KeyValuePair<string, object?>("status", status.ToString().ToLowerInvariant());
        _answers.Add(1, tag);
        _tokens.Add(tokens);
        _coordinationMs.Record(coordinationMs);
        _overheadMs.Add(coordinationMs);
        _redisCommands.Record(redisCommands);
        _redisRoundTrips.Record(redisRoundTrips);
        _commandsPerAnswer.Add(redisCommands);
        _roundTripsPerAnswer.Add(redisRoundTrips);
    }

    /// <summary>A cancel of a running task answered: confirmed on the first request, or not.</summary>
    public void CancelAnswered(bool confirmed, TimeSpan latency)
    {
        Interlocked.Increment(ref _cancelAttempts);
        if (confirmed)
        {
            Interlocked.Increment(ref _cancelFirstAttemptSuccesses);
            _cancelLatency.Record(latency.TotalMilliseconds);
            _cancelLatencies.Add(latency.TotalMilliseconds);
        }

        _cancels.Add(1, new KeyValuePair<string, object?>("result", confirmed ? "confirmed" : "pending"));
    }

    public MetricsSnapshot Snapshot()
    {
        var attempts = Interlocked.Read(ref _cancelAttempts);
        var successes = Interlocked.Read(ref _cancelFirstAttemptSuccesses);
        return new MetricsSnapshot(
            Answers,
            _commandsPerAnswer.Mean(),
            _roundTripsPerAnswer.Mean(),
            _overheadMs.Mean(),
            new LatencyPercentiles(_cancelLatencies.Percentile(50), _cancelLatencies.Percentile(95), _cancelLatencies.Percentile(99)),
            attempts == 0 ? null : (double)successes / attempts,
            attempts,
            DatabaseStatements,
            DatabaseTransactions);
    }

    public void Dispose() => _meter.Dispose();
}

public sealed record LatencyPercentiles(double? P50, double? P95, double? P99);

public sealed record MetricsSnapshot(
    long Answers,
    double? RedisCommandsPerAnswer,
    double? RedisRoundTripsPerAnswer,
    double? OverheadMsPerAnswer,
    LatencyPercentiles CancelLatencyMs,
    double? CancelFirstAttemptSuccessRate,
    long CancelAttempts,
    long DatabaseStatements = 0,
    long DatabaseTransactions = 0);

/// <summary>The last N samples of a figure, for means and percentiles on the dashboard.</summary>
internal sealed class RollingWindow(int capacity)
{
    private readonly double[] _samples = new double[capacity];
    private readonly Lock _gate = new();
    private long _count;

    public void Add(double value)
    {
        lock (_gate)
        {
            _samples[_count % capacity] = value;
            _count++;
        }
    }

    public double? Mean()
    {
        lock (_gate)
        {
            var n = (int)Math.Min(_count, capacity);
            return n == 0 ? null : _samples.AsSpan(0, n).ToArray().Average();
        }
    }

    public double? Percentile(double p)
    {
        double[] sorted;
        lock (_gate)
        {
            var n = (int)Math.Min(_count, capacity);
            if (n == 0)
            {
                return null;
            }

            sorted = _samples.AsSpan(0, n).ToArray();
        }

        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
