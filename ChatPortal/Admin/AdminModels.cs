namespace ChatPortal.Admin;

/// <summary>GET /api/admin/tasks item.</summary>
public sealed record AdminTask(string TaskId, string ConversationId, string UserId, string Node, DateTimeOffset StartedAt, int Tokens, string Status);

/// <summary>GET /api/admin/overview.</summary>
public sealed record AdminOverview(IReadOnlyList<AdminNode> Nodes, RedisStatus Redis, AdminMetrics Metrics);

public sealed record AdminNode(string Id, DateTimeOffset LastSeen, int ActiveTasks, int Circuits, bool SubscriptionAlive, long Answers);

/// <summary>Redis health; <c>Status</c> is healthy, degraded or down ("healthy" with no Redis in single-node mode).</summary>
public sealed record RedisStatus(
    string Status,
    double? PingMs,
    string? Version,
    long? UsedMemoryBytes,
    long? OpsPerSec,
    long? ConnectedClients,
    string Mode,
    string? LastError,
    DateTimeOffset? LastReconnect);

public sealed record LatencyMs(double? P50, double? P95, double? P99);

public sealed record AdminMetrics(
    long Answers,
    double? RedisCommandsPerAnswer,
    double? RedisRoundTripsPerAnswer,
    double? OverheadMsPerAnswer,
    LatencyMs CancelLatencyMs,
    double? CancelFirstAttemptSuccessRate,
    long CancelAttempts,
    long DatabaseStatements = 0,
    long DatabaseTransactions = 0);

/// <summary>One point of the dashboard's charts.</summary>
public sealed record MetricsSample(DateTimeOffset At, int ActiveTasks, double TokensPerSecond, double? CancelP95Ms, double? OverheadMs, double? PingMs);
