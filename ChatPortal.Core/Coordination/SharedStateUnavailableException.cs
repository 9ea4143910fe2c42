namespace ChatPortal.Core.Coordination;

/// <summary>
/// The shared state (Redis) is unreachable and this node has no copy of what was asked. Not "not found":
/// the caller should retry once Redis is back (the API answers 503).
/// </summary>
public sealed class SharedStateUnavailableException(string what, Exception? inner = null)
    : Exception($"{what} is not available while the shared state is unreachable; try again in a moment.", inner);
