using System.Collections.Concurrent;

namespace ChatPortal.Chaos;

/// <summary>Violations by invariant (1–6 of ARCHITECTURE.md), each with the task or conversation it concerns.</summary>
public sealed class Violations
{
    public static readonly IReadOnlyDictionary<int, string> Names = new Dictionary<int, string>
    {
        [1] = "1 one generation per conversation commits",
        [2] = "2 exactly one final record; stored text = streamed text",
        [3] = "3 a confirmed Stop ends the answer as confirmed",
        [4] = "4 nothing shown as sent or finished is lost",
        [5] = "5 no conversation stays generating",
        [6] = "6 a frozen owner that lost its claim writes nothing",
    };

    private readonly ConcurrentDictionary<int, ConcurrentQueue<(string Id, string Detail)>> _byInvariant = new();

    public void Add(int invariant, string id, string detail) =>
        _byInvariant.GetOrAdd(invariant, _ => new ConcurrentQueue<(string, string)>()).Enqueue((id, detail));

    public int Count(int invariant) => _byInvariant.TryGetValue(invariant, out var list) ? list.Count : 0;

    public int Total => _byInvariant.Values.Sum(l => l.Count);

    public IReadOnlyList<(string Id, string Detail)> Of(int invariant) =>
        _byInvariant.TryGetValue(invariant, out var list) ? [.. list] : [];
}
