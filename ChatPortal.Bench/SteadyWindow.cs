namespace ChatPortal.Bench;

/// <summary>
/// The stretch of a level where every stream runs, every cancel has settled and no answer has ended yet. No
/// answer starts, stops or is stored in it, so any Redis command in it beyond the nodes' idle background is a
/// per-chunk cost. It opens once all streams run and all cancelled ones ended, and closes when the first
/// uncancelled stream reaches 80 % of its tokens (or ends); a level where it cannot open has no such window.
/// </summary>
public sealed class SteadyWindow(RedisCommandStats? stats, int streams, int cancels, int closeAtDelta)
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
            : new SteadyWindowResult(end.Counts.Since(start.Counts), end.Deltas - start.Deltas);
    }

    private async Task<Mark?> MarkAsync()
    {
        if (stats is null)
        {
            return null;
        }

        var deltas = Interlocked.Read(ref _deltas);
        return new Mark(await stats.ReadAsync(), deltas);
    }

    private sealed record Mark(CommandCounts Counts, long Deltas);
}

/// <param name="Commands">Redis commands in the window (the benchmark's own INFO excluded).</param>
/// <param name="Chunks">Chunks (deltas) the streams delivered in the window.</param>
public sealed record SteadyWindowResult(CommandDelta Commands, long Chunks);
