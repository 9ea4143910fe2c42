namespace ChatPortal.Core.Coordination;

public enum RedisState
{
    /// <summary>Single node, in-memory: there is no Redis to be down.</summary>
    NotConfigured,
    Healthy,
    Degraded,
    Down,
}

/// <summary>The node's view of its shared state, for the banner, /readyz and the dashboard.</summary>
public sealed class CoordinationHealth
{
    private RedisState _state = RedisState.NotConfigured;

    public event Action? Changed;

    public RedisState State => _state;

    public bool IsRedisDown => _state == RedisState.Down;

    public string? LastError { get; private set; }

    public DateTimeOffset? LastReconnect { get; private set; }

    /// <summary>True while the node's cancel subscription is proven alive by its watchdog.</summary>
    public bool SubscriptionAlive { get; private set; } = true;

    public void Set(RedisState state, string? error = null)
    {
        if (state == RedisState.Healthy && _state == RedisState.Down)
        {
            LastReconnect = DateTimeOffset.UtcNow;
        }

        if (error is not null)
        {
            LastError = error;
        }

        if (_state != state)
        {
            _state = state;
            Changed?.Invoke();
        }
    }

    /// <summary>NodeIds that two live instances use at once (a configuration error shown loudly on the dashboard).</summary>
    public IReadOnlyList<string> DuplicateNodeIds { get; private set; } = [];

    public void SetDuplicateNodeIds(IReadOnlyList<string> nodeIds)
    {
        if (!nodeIds.SequenceEqual(DuplicateNodeIds))
        {
            DuplicateNodeIds = nodeIds;
            Changed?.Invoke();
        }
    }

    public void SetSubscriptionAlive(bool alive)
    {
        if (SubscriptionAlive != alive)
        {
            SubscriptionAlive = alive;
            Changed?.Invoke();
        }
    }
}
