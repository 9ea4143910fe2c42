using System.Diagnostics;

namespace ChatPortal.Bench;

/// <summary>
/// Drives one level: N users prepared (conversations created, connections warm) outside the measurement, then
/// started over the ramp, each reading its stream to <c>done</c>; a share of them cancels. Bounded: a stream
/// that does not end within the level's deadline is reported as not ended.
/// </summary>
public sealed class LoadDriver(BenchCluster cluster, BenchOptions options, RedisCommandStats? stats, NodeDatabaseCounters? database)
{
    private const int PrepareConcurrency = 32;

    /// <param name="afterPrepare">Between preparing the users and the measurement (PostgreSQL's statistics settle there).</param>
    public async Task<LevelRun> RunAsync(int streams, Func<Task> onMeasurementStart, Func<Task>? afterPrepare = null)
    {
        var users = Enumerable.Range(0, streams)
            .Select(i => new SimulatedUser(i, cluster, options.TokensPerSecond, IsCanceller(i) ? options.CancelAfterDeltasFor(i) : null))
            .ToList();
        try
        {
            await PrepareAsync(users);
            if (afterPrepare is not null)
            {
                await afterPrepare();
            }

            var window = new SteadyWindow(stats, database, streams, users.Count(u => u.WillCancel), (int)(options.ResponseTokens * 0.8));
            var answerTime = TimeSpan.FromSeconds(options.ResponseTokens / options.TokensPerSecond);
            using var deadline = new CancellationTokenSource(options.Ramp + answerTime * 6 + TimeSpan.FromSeconds(60));

            await onMeasurementStart();
            var started = Stopwatch.GetTimestamp();
            var outcomes = await Task.WhenAll(users.Select((user, i) => StartAsync(user, Offset(i, streams), window, deadline.Token)));
            var elapsed = Stopwatch.GetElapsedTime(started);
            return new LevelRun(streams, outcomes, elapsed, await window.ResultAsync());
        }
        finally
        {
            foreach (var user in users)
            {
                user.Dispose();
            }
        }
    }

    /// <summary>Every k-th user cancels, spread evenly over the level (k = 1 / cancel share).</summary>
    private bool IsCanceller(int user) =>
        options.CancelShare > 0 && (int)Math.Floor((user + 1) * options.CancelShare) > (int)Math.Floor(user * options.CancelShare);

    private TimeSpan Offset(int user, int streams) => streams <= 1 ? TimeSpan.Zero : options.Ramp * user / streams;

    private static async Task<UserOutcome> StartAsync(SimulatedUser user, TimeSpan offset, SteadyWindow window, CancellationToken cancellationToken)
    {
        if (offset > TimeSpan.Zero)
        {
            await Task.Delay(offset, cancellationToken);
        }

        return await user.RunAsync(window, cancellationToken);
    }

    private static async Task PrepareAsync(IReadOnlyList<SimulatedUser> users)
    {
        using var gate = new SemaphoreSlim(PrepareConcurrency);
        await Task.WhenAll(users.Select(async user =>
        {
            await gate.WaitAsync();
            try
            {
                await user.PrepareAsync();
            }
            finally
            {
                gate.Release();
            }
        }));
    }
}

/// <summary>What the users of one level saw, and the level's steady window.</summary>
public sealed record LevelRun(int Streams, IReadOnlyList<UserOutcome> Outcomes, TimeSpan Elapsed, SteadyWindowResult? Window);
