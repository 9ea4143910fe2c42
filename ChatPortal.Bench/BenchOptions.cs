using System.Globalization;

namespace ChatPortal.Bench;

/// <summary>
/// What one invocation measures. A profile (<c>--quick</c>, default full, <c>--smoke</c>) sets the levels and the
/// pace; single options override it.
/// </summary>
public sealed record BenchOptions
{
    public const string Usage = """
        ChatPortal.Bench: push (3 nodes, Redis + PostgreSQL) vs one node alone on SQLite vs polling, at several concurrency levels.

          --render [--tokens N]   Markdown rendering of one streaming answer (default 4000 tokens): whole text vs incremental
          --quick                 levels 10,100 (about three minutes)
          --smoke                 2 nodes, one level of 8 streams, 300-token answers (for tests)
          (default)               full: levels 10,100,300 (--levels 10,100,300,1000 adds the saturation level)
          --levels 10,100         concurrent streams per level
          --nodes N               node processes per cluster mode (default 3; single is always 1)
          --modes push,polling    modes to run (default push,single,polling)
          --tokens N              answer length in tokens (default 500)
          --tps N                 simulated model pace, tokens/s per answer (default 100)
          --cancel-share F        share of answers cancelled through another node (default 0.25)
          --urls URL,URL          drive running nodes instead of starting them (one mode: --modes, default push)
          --redis HOST:PORT       with --urls: the Redis they share, for INFO commandstats
          --admin-password P      with --urls: for /api/admin/overview
          --out DIR               where BENCHMARKS.md and images/ go (default: docs/ of the repository; smoke writes only with --out)
          --no-write              print only
        """;

    public string Profile { get; init; } = "full";

    public int Nodes { get; init; } = 3;

    public IReadOnlyList<int> Levels { get; init; } = [10, 100, 300];

    public IReadOnlyList<CoordinationMode> Modes { get; init; } = CoordinationModes.All;

    public int ResponseTokens { get; init; } = 500;

    public double TokensPerSecond { get; init; } = 100;

    public double CancelShare { get; init; } = 0.25;

    /// <summary>Users start spread over this time, so a level is N concurrent streams rather than one burst.</summary>
    public TimeSpan Ramp { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Streams of the unreported warm-up levels that JIT-compile every path before measuring.</summary>
    public int WarmupStreams { get; init; } = 100;

    /// <summary>Warm-up levels: tiered compilation (tier 1, dynamic PGO) still recompiles hot methods after the first.</summary>
    public int WarmupRounds { get; init; } = 2;

    /// <summary>Quiet time after each level: node heartbeats carry the last figures, and Redis's idle rate is sampled.</summary>
    public TimeSpan IdleGap { get; init; } = TimeSpan.FromSeconds(2.5);

    /// <summary>
    /// Wait before each PostgreSQL reading (after preparing a level's users, and the quiet gap after it), so its
    /// statistics hold every commit (see <see cref="PostgresCommitStats"/>). Smoke: none (its PostgreSQL figures are then rough).
    /// </summary>
    public TimeSpan PostgresSettle { get; init; } = PostgresCommitStats.FlushDelay;

    public IReadOnlyList<string>? Urls { get; init; }

    public string? Redis { get; init; }

    public string AdminPassword { get; init; } = Testing.NodeProcess.AdminPassword;

    public string? OutputDirectory { get; init; }

    public bool Write { get; init; } = true;

    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The exact command that reproduces this run.</summary>
    public string Command => "dotnet run --project ChatPortal.Bench -c Release" + (Arguments.Count == 0 ? "" : " -- " + string.Join(' ', Arguments));

    /// <summary>Cancels are sent after 3 to 22 deltas, so the polling baseline's 10-chunk interval is sampled evenly.</summary>
    public static int CancelAfterDeltas(int user) => 3 + (user * 7 % 20);

    /// <summary>
    /// The latest delta a Stop may wait for. A loaded machine delivers a short answer in fewer, larger deltas (a reader
    /// that falls behind gets the text so far in one), so the smoke run's short answers stop early or some never would.
    /// </summary>
    public int CancelAfterDeltasAtMost { get; init; } = int.MaxValue;

    public int CancelAfterDeltasFor(int user) => Math.Min(CancelAfterDeltas(user), CancelAfterDeltasAtMost);

    public static BenchOptions Quick { get; } = new() { Profile = "quick", Levels = [10, 100] };

    public static BenchOptions Full { get; } = new();

    public static BenchOptions Smoke { get; } = new()
    {
        Profile = "smoke",
        Nodes = 2,
        Levels = [8],
        ResponseTokens = 300,
        TokensPerSecond = 250,
        Ramp = TimeSpan.Zero,
        WarmupStreams = 2,
        WarmupRounds = 1,
        IdleGap = TimeSpan.FromSeconds(2.2),
        PostgresSettle = TimeSpan.Zero,
        CancelAfterDeltasAtMost = 1,
        Write = false,
    };

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var options = args.Contains("--smoke") ? Smoke : args.Contains("--quick") ? Quick : Full;
        options = options with { Arguments = [.. args] };
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--quick" or "--smoke" => options,
                "--levels" => options with { Levels = [.. Value().Split(',').Select(v => Positive(int.Parse(v, CultureInfo.InvariantCulture), "--levels"))] },
                "--nodes" => options with { Nodes = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--nodes") },
                "--modes" => options with { Modes = [.. Value().Split(',').Select(CoordinationModes.Parse)] },
                "--tokens" => options with { ResponseTokens = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--tokens") },
                "--tps" => options with { TokensPerSecond = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--cancel-share" => options with { CancelShare = Math.Clamp(double.Parse(Value(), CultureInfo.InvariantCulture), 0, 1) },
                "--urls" => options with { Urls = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries)] },
                "--redis" => options with { Redis = Value() },
                "--admin-password" => options with { AdminPassword = Value() },
                "--out" => options with { OutputDirectory = Value(), Write = true },
                "--no-write" => options with { Write = false },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'.\n\n{Usage}"),
            };
        }

        if (options.Urls is { Count: > 0 } urls)
        {
            options = options with
            {
                Nodes = urls.Count,
                Modes = options.Arguments.Contains("--modes") ? [options.Modes[0]] : [CoordinationMode.Push],
            };
        }

        return options;
    }

    private static int Positive(int value, string name) =>
        value > 0 ? value : throw new ArgumentException($"{name} must be positive.");
}
