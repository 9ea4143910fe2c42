namespace ChatPortal.Bench;

/// <summary>How the nodes of a run coordinate: the three setups the benchmark compares side by side.</summary>
public enum CoordinationMode
{
    /// <summary>ChatPortal's cluster: PostgreSQL as the system of record, Redis for the Stop push and the start/end announcements.</summary>
    Push,

    /// <summary>One node alone on its own SQLite file, no Redis: the floor a cluster's CPU per answer is held against.</summary>
    Single,

    /// <summary>The fix ChatPortal replaces: a Redis cancel flag the owner checks every 10 chunks (PostgreSQL as in push).</summary>
    Polling,
}

public static class CoordinationModes
{
    public static IReadOnlyList<CoordinationMode> All { get; } = [CoordinationMode.Push, CoordinationMode.Single, CoordinationMode.Polling];

    public static string Name(this CoordinationMode mode) => mode switch
    {
        CoordinationMode.Push => "push",
        CoordinationMode.Single => "single",
        CoordinationMode.Polling => "polling",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static CoordinationMode Parse(string name)
    {
        var trimmed = name.Trim();
        if (trimmed.Equals("sqlite", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("in-memory", StringComparison.OrdinalIgnoreCase))
        {
            return CoordinationMode.Single;
        }

        foreach (var mode in All)
        {
            if (string.Equals(mode.Name(), trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return mode;
            }
        }

        throw new ArgumentException($"Unknown mode '{name}' (push, single, polling).");
    }

    /// <summary>Redis and PostgreSQL: a cluster. Without them a node keeps its conversations in its own SQLite file.</summary>
    public static bool UsesRedis(this CoordinationMode mode) => mode != CoordinationMode.Single;

    /// <summary>A cluster keeps its conversations in PostgreSQL; a single node in SQLite.</summary>
    public static bool UsesPostgres(this CoordinationMode mode) => mode.UsesRedis();

    /// <summary>Cancels go through a node other than the owner, except on a single node, where there is no other.</summary>
    public static bool CancelsCrossNode(this CoordinationMode mode) => mode != CoordinationMode.Single;

    /// <summary>Node processes of the mode: the cluster's size, or one for the single node.</summary>
    public static int NodeCount(this CoordinationMode mode, BenchOptions options) => mode == CoordinationMode.Single ? 1 : options.Nodes;

    /// <summary>The database the mode's nodes keep their conversations in.</summary>
    public static string Database(this CoordinationMode mode) => mode.UsesPostgres() ? "PostgreSQL" : "SQLite";

    /// <summary>The node settings that select the mode (on top of Redis, when it uses Redis).</summary>
    public static IReadOnlyDictionary<string, string> NodeSettings(this CoordinationMode mode) => mode switch
    {
        CoordinationMode.Polling => new Dictionary<string, string> { ["ChatPortal__Internal__CancelStrategy"] = "PollingBaseline" },
        _ => new Dictionary<string, string>(),
    };
}
