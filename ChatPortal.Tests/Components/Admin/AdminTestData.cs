using ChatPortal.Admin;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Tests.Components.Admin;

/// <summary>Dashboard figures for tests, with defaults for everything a test does not care about.</summary>
public static class AdminTestData
{
    public static readonly DateTimeOffset Now = new(2025, 3, 4, 10, 0, 0, TimeSpan.Zero);

    public static AdminTask Task(string taskId, string node = "node-a", DateTimeOffset? startedAt = null, int tokens = 0) =>
        new(taskId, $"conv-{taskId}", $"user-{taskId}", node, startedAt ?? Now, tokens, "running");

    public static TaskInfo Info(string taskId, string node = "node-a", DateTimeOffset? startedAt = null) =>
        new(taskId, $"conv-{taskId}", $"user-{taskId}", node, startedAt ?? DateTimeOffset.UtcNow);

    public static RedisStatus RedisHealth(
        string status = "healthy",
        string mode = "redis",
        double? pingMs = 0.5,
        string? version = "7.2.4",
        long? usedMemoryBytes = 2 * 1024 * 1024,
        string? lastError = null) =>
        new(status, pingMs, version, usedMemoryBytes, OpsPerSec: 120, ConnectedClients: 6, mode, lastError, LastReconnect: null);

    public static AdminMetrics Metrics(
        long answers = 10,
        double? commandsPerAnswer = 6.2,
        double? roundTripsPerAnswer = 4.1,
        double? overheadMsPerAnswer = 0.84,
        LatencyMs? cancelLatencyMs = null,
        double? cancelFirstAttemptSuccessRate = null,
        long cancelAttempts = 0) =>
        new(answers, commandsPerAnswer, roundTripsPerAnswer, overheadMsPerAnswer, cancelLatencyMs ?? new LatencyMs(null, null, null), cancelFirstAttemptSuccessRate, cancelAttempts);

    public static AdminNode Node(string id, int activeTasks = 0, int circuits = 0, bool subscriptionAlive = true) =>
        new(id, Now, activeTasks, circuits, subscriptionAlive, Answers: 0);

    public static AdminOverview Overview(RedisStatus? redis = null, IReadOnlyList<AdminNode>? nodes = null, AdminMetrics? metrics = null) =>
        new(nodes ?? [Node("node-a")], redis ?? RedisHealth(), metrics ?? Metrics());

    public static MetricsSample Sample(int secondsAgo, int activeTasks = 1) =>
        new(Now.AddSeconds(-secondsAgo), activeTasks, TokensPerSecond: 25.5, CancelP95Ms: 3.5, OverheadMs: 0.8, PingMs: 0.4);
}
