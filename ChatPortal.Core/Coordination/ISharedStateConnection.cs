using StackExchange.Redis;

namespace ChatPortal.Core.Coordination;

/// <summary>
/// The shared bus (Redis) as the web layer may see it: whether it answers, its health figures, and the one
/// multiplexer of the process for the ASP.NET plumbing that needs one (the cache of persisted circuits). Not registered on a single node.
/// </summary>
public interface ISharedStateConnection
{
    /// <summary>False while Redis is unreachable.</summary>
    bool IsAvailable { get; }

    IConnectionMultiplexer Multiplexer { get; }

    /// <summary>Prefix of every key and channel (<c>KeyPrefix</c>).</summary>
    string KeyPrefix { get; }

    /// <summary>Key prefix of the distributed cache of persisted circuits.</summary>
    string CachePrefix { get; }

    /// <summary>Round trip of a PING.</summary>
    Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default);

    /// <summary>The server's INFO fields (version, memory, ops/s, clients...).</summary>
    Task<IReadOnlyDictionary<string, string>> InfoAsync(CancellationToken cancellationToken = default);
}
