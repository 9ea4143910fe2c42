namespace ChatPortal.Bench;

/// <summary>Everything one invocation measured, with the conditions it ran under.</summary>
public sealed record BenchReport(
    BenchOptions Options,
    MachineInfo Machine,
    IReadOnlyList<LevelResult> Results,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    string LoadBefore,
    string LoadAfter)
{
    /// <summary>A level "holds" while every stream ends and 99 % of the streams never fall more than this behind the model's pace.</summary>
    public const double HoldingLatenessMs = 100;

    /// <summary>The cancel-latency targets are stated at 300 streams on 3 nodes.</summary>
    public const int CancelTargetStreams = 300;

    public IReadOnlyList<int> Levels => [.. Results.Select(r => r.Streams).Distinct().Order()];

    public IReadOnlyList<CoordinationMode> Modes => [.. CoordinationModes.All.Where(m => Results.Any(r => r.Mode == m))];

    public LevelResult? Find(CoordinationMode mode, int streams) => Results.FirstOrDefault(r => r.Mode == mode && r.Streams == streams);

    public IReadOnlyList<LevelResult> Of(CoordinationMode mode) => [.. Results.Where(r => r.Mode == mode).OrderBy(r => r.Streams)];

    /// <summary>The level the cancel targets are judged at: 300 streams, or the closest measured level.</summary>
    public int CancelTargetLevel => Levels.OrderBy(l => Math.Abs(l - CancelTargetStreams)).ThenByDescending(l => l).FirstOrDefault();

    public static bool Holds(LevelResult result) => result.NotEnded == 0 && result.TokenLatenessMs?.P99 <= HoldingLatenessMs;

    /// <summary>The highest level every mode held, or null when even the lowest did not.</summary>
    public int? HighestHeldLevel => Levels.Where(l => Results.Where(r => r.Streams == l).All(Holds)).Cast<int?>().LastOrDefault();
}
