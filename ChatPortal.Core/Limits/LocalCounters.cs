using System.Collections.Concurrent;

namespace ChatPortal.Core.Limits;

/// <summary>
/// This node's own counters, with the rules of <see cref="LimitCounters"/>' scripts: the single-node default and
/// the fallback while Redis is down. Monotonic time; expired entries are swept as the table grows.
/// </summary>
internal sealed class LocalCounters(TimeProvider time)
{
    private const int SweepAbove = 10_000;
    private readonly ConcurrentDictionary<string, Entry> _entries = new();

    public (long Count, TimeSpan Left) Hit(string key, TimeSpan window)
    {
        var now = time.GetTimestamp();
        var entry = Get(key, now);
        lock (entry)
        {
            if (entry.Count == 0 || Elapsed(entry.ExpiresAt, now))
            {
                entry.Count = 0;
                entry.ExpiresAt = now + Ticks(window);
            }

            entry.Count++;
            return (entry.Count, Left(entry.ExpiresAt, now));
        }
    }

    public (long Failures, TimeSpan Blocked) Blocked(string key)
    {
        var now = time.GetTimestamp();
        if (!_entries.TryGetValue(key, out var entry))
        {
            return (0, TimeSpan.Zero);
        }

        lock (entry)
        {
            return Elapsed(entry.ExpiresAt, now) ? (0, TimeSpan.Zero) : (entry.Count, Left(entry.BlockedUntil, now));
        }
    }

    public TimeSpan Fail(string key, TimeSpan window, int freeFailures, TimeSpan cap)
    {
        var now = time.GetTimestamp();
        var entry = Get(key, now);
        lock (entry)
        {
            if (Elapsed(entry.ExpiresAt, now))
            {
                entry.Count = 0;
                entry.BlockedUntil = now;
            }

            entry.Count++;
            entry.ExpiresAt = now + Ticks(window);
            if (entry.Count < freeFailures)
            {
                return TimeSpan.Zero;
            }

            var delay = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Math.Min(entry.Count - freeFailures, 30)), cap.TotalSeconds));
            entry.BlockedUntil = now + Ticks(delay);
            return delay;
        }
    }

    public void Reset(string key) => _entries.TryRemove(key, out _);

    private Entry Get(string key, long now)
    {
        if (_entries.Count > SweepAbove)
        {
            foreach (var (name, old) in _entries)
            {
                if (Elapsed(old.ExpiresAt, now))
                {
                    _entries.TryRemove(name, out _);
                }
            }
        }

        return _entries.GetOrAdd(key, static (_, start) => new Entry { ExpiresAt = start, BlockedUntil = start }, now);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private static bool Elapsed(long deadline, long now) => now >= deadline;

    private TimeSpan Left(long deadline, long now) => deadline > now ? time.GetElapsedTime(now, deadline) : TimeSpan.Zero;

    private sealed class Entry
    {
        public long Count;
        public long ExpiresAt;
        public long BlockedUntil;
    }
}
