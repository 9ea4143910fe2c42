namespace ChatPortal.Bench;

/// <summary>
/// The stretch of a level where every stream runs, every cancel has settled and no answer has ended yet. No
/// answer starts, stops or is stored in it, so any Redis command in it beyond the nodes' idle background is a
/// per-chunk cost, and so is any database transaction beyond the nodes' lease renewals. It opens once all streams run and all cancelled ones ended, and closes when the first
/// uncancelled stream reaches 80 % of its tokens (or ends); a level where it cannot open has no such window.
/// </summary>
public sealed class SteadyWindow(RedisCommandStats? stats, NodeDatabaseCounters? database, int streams, int cancels, int closeAtDelta)
{
    private readonly Lock _gate = new();
    private long _deltas;
    private int _running;
    private int _unsettledCancels = cancels;
    private Task<Mark?>? _open;
    private Task<SteadyWindowResult?>? _close;

    public void StreamStarted()
    {
        Interlocked.Increment(ref _running);
        TryOpen();
    }

    public void CancelSettled()
    {
        Interlocked.Decrement(ref _unsettledCancels);
        TryOpen();
    }

    public void Delta(int deltasOfStream, bool willBeCancelled)
    {
        Interlocked.Increment(ref _deltas);
        if (!willBeCancelled && deltasOfStream == closeAtDelta)
        {
            TryClose();
        }
    }

    public void AnswerEnded(bool cancelled)
    {
        if (!cancelled)
        {
            TryClose();
        }
    }

    /// <summary>The window's commands and chunks; null when it never opened (or no Redis to read).</summary>
    public async Task<SteadyWindowResult?> ResultAsync()
    {
        TryClose();
        Task<SteadyWindowResult?>? close;
        lock (_gate)
        {
            close = _close;
        }

        return close is null ? null : await close;
    }

    private void TryOpen()
    {
        lock (_gate)
        {
            if (_open is null && _close is null && Volatile.Read(ref _running) == streams && Volatile.Read(ref _unsettledCancels) == 0)
            {
                _open = MarkAsync();
            }
        }
    }

    private void TryClose()
    {
        lock (_gate)
        {
            _close ??= _open is null ? Task.FromResult<SteadyWindowResult?>(null) : CloseAsync(_open);
        }
    }

    private async Task<SteadyWindowResult?> CloseAsync(Task<Mark?> opening)
    {
        var start = await opening;
        var end = await MarkAsync();
        return start is null || end is null
            ? null
            : new SteadyWindowResult(
                start.Counts is null || end.Counts is null ? null : end.Counts.Since(start.Counts),
                start.Database is null || end.Database is null ? null : end.Database.Since(start.Database),
                end.Deltas - start.Deltas);
    }

    private async Task<Mark?> MarkAsync()
    {
        if (stats is null && database is null)
        {
            return null;
        }

        var deltas = Interlocked.Read(ref _deltas);
        var reading = stats?.ReadAsync();
        var counts = database is null ? null : await database.ReadAsync();
        return new Mark(reading is null ? null : await reading, counts, deltas);
    }

    private sealed record Mark(CommandCounts? Counts, DatabaseCounts? Database, long Deltas);
}

/// <param name="Commands">Redis commands in the window (the benchmark's own INFO excluded); null without Redis.</param>
/// <param name="Database">The nodes' database statements and transactions in the window (lease renewals included).</param>
/// <param name="Chunks">Chunks (deltas) the streams delivered in the window.</param>
public sealed record SteadyWindowResult(CommandDelta? Commands, DatabaseDelta? Database, long Chunks);
