namespace ChatPortal.Bench;

/// <summary>How the nodes of a run coordinate: the three setups the benchmark compares side by side.</summary>
public enum CoordinationMode
{
    /// <summary>ChatPortal's Redis coordination: one cancel subscription per node, flag + PUBLISH, nothing per chunk.</summary>
    Push,

    /// <summary>Nodes without Redis; each user stays on one node and cancels there: the floor.</summary>
    InMemory,

    /// <summary>The fix ChatPortal replaces: a Redis cancel flag the owner checks every 10 chunks.</summary>
    Polling,
}

public static class CoordinationModes
{
    public static IReadOnlyList<CoordinationMode> All { get; } = [CoordinationMode.Push, CoordinationMode.InMemory, CoordinationMode.Polling];

    public static string Name(this CoordinationMode mode) => mode switch
    {
        CoordinationMode.Push => "push",
        CoordinationMode.InMemory => "in-memory",
        CoordinationMode.Polling => "polling",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static CoordinationMode Parse(string name)
    {
        foreach (var mode in All)
        {
            if (string.Equals(mode.Name(), name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return mode;
            }
        }

        throw new ArgumentException($"Unknown mode '{name}' (push, in-memory, polling).");
    }

    public static bool UsesRedis(this CoordinationMode mode) => mode != CoordinationMode.InMemory;

    /// <summary>Cancels go through a node other than the owner, except in memory where only the owner knows the task.</summary>
    public static bool CancelsCrossNode(this CoordinationMode mode) => mode != CoordinationMode.InMemory;

    /// <summary>The node settings that select the mode (on top of Redis, when it uses Redis).</summary>
    public static IReadOnlyDictionary<string, string> NodeSettings(this CoordinationMode mode) => mode switch
    {
        CoordinationMode.Polling => new Dictionary<string, string> { ["ChatPortal__Internal__CancelStrategy"] = "PollingBaseline" },
        _ => new Dictionary<string, string>(),
    };
}
