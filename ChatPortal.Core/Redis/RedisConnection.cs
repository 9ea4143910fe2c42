using ChatPortal.Core.Configuration;
using ChatPortal.Core.Coordination;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatPortal.Core.Redis;

/// <summary>
/// The one <see cref="IConnectionMultiplexer"/> of the process: AbortOnConnectFail=false (a node starts with
/// Redis down and connects when it is back), short timeouts, fail-fast instead of a backlog while
/// disconnected (the circuit breaker: no call waits on a dead Redis). Connection events are logged once each
/// and fed to <see cref="CoordinationHealth"/>.
/// </summary>
public sealed partial class RedisConnection : ISharedStateConnection, IDisposable
{
    private readonly CoordinationHealth _health;
    private readonly ILogger<RedisConnection> _logger;
    private int _downLogged;

    public RedisConnection(IOptions<ChatPortalOptions> options, NodeIdentity node, CoordinationHealth health, ILogger<RedisConnection> logger)
    {
        _health = health;
        _logger = logger;
        Keys = new RedisKeys(options.Value.KeyPrefix);

        var configuration = ConfigurationOptions.Parse(options.Value.Redis!);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= $"chatportal-{node.Id}";
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
        configuration.SyncTimeout = Math.Min(configuration.SyncTimeout, 1000);
        configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 1000);
        configuration.ConnectRetry = 1;
        configuration.KeepAlive = 5;
        configuration.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
        configuration.ReconnectRetryPolicy = new LinearRetry(250);
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.AllowAdmin = true; // INFO for the dashboard's Redis card (the client counts it as an admin command)

        Multiplexer = ConnectionMultiplexer.Connect(configuration);
        Multiplexer.ConnectionFailed += OnConnectionFailed;
        Multiplexer.ConnectionRestored += OnConnectionRestored;
        if (Multiplexer.IsConnected)
        {
            health.Set(RedisState.Healthy);
            if (Multiplexer.GetServers().FirstOrDefault(s => s.IsConnected) is { Features.ShardedPubSub: false } server)
            {
                Log.NoShardedPubSub(logger, server.Version.ToString());
            }
        }
        else
        {
            health.Set(RedisState.Down, "Not reachable when the node started.");
            Log.StartedDisconnected(logger, configuration.ToString(includePassword: false));
        }
    }

    public IConnectionMultiplexer Multiplexer { get; }

    public RedisKeys Keys { get; }

    public IDatabase Database => Multiplexer.GetDatabase();

    public ISubscriber Subscriber => Multiplexer.GetSubscriber();

    /// <summary>False while Redis is unreachable: callers skip Redis instead of waiting on it.</summary>
    public bool IsAvailable => Multiplexer.IsConnected;

    public string KeyPrefix => Keys.Prefix;

    public string CachePrefix => Keys.CachePrefix;

    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) =>
        await Database.PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyDictionary<string, string>> InfoAsync(CancellationToken cancellationToken = default)
    {
        var endpoint = Multiplexer.GetEndPoints().First();
        var info = await Multiplexer.GetServer(endpoint).InfoAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return info.SelectMany(group => group).GroupBy(pair => pair.Key).ToDictionary(g => g.Key, g => g.First().Value);
    }

    /// <summary>Raised once the interactive connection is back (replay writes, re-assert registrations).</summary>
    public event Action? Restored;

    /// <summary>Raised when the subscription connection is back (re-check cancel flags).</summary>
    public event Action? SubscriptionRestored;

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            _health.Set(RedisState.Down, $"{e.FailureType}: {e.Exception?.Message}");
            if (Interlocked.Exchange(ref _downLogged, 1) == 0)
            {
                Log.ConnectionFailed(_logger, e.Exception, e.EndPoint?.ToString(), e.FailureType);
            }
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            SubscriptionRestored?.Invoke();
            return;
        }

        Interlocked.Exchange(ref _downLogged, 0);
        Log.ConnectionRestored(_logger, e.EndPoint?.ToString());
        _health.Set(RedisState.Healthy);
        Restored?.Invoke();
    }

    public void Dispose()
    {
        Multiplexer.ConnectionFailed -= OnConnectionFailed;
        Multiplexer.ConnectionRestored -= OnConnectionRestored;
        Multiplexer.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Warning, "Redis connection to {EndPoint} failed ({FailureType}); running degraded until it is back.")]
        public static partial void ConnectionFailed(ILogger logger, Exception? exception, string? endPoint, ConnectionFailureType failureType);

        [LoggerMessage(2002, LogLevel.Information, "Redis connection to {EndPoint} restored.")]
        public static partial void ConnectionRestored(ILogger logger, string? endPoint);

        [LoggerMessage(2003, LogLevel.Warning, "Redis is not reachable at start ({Configuration}); the node starts degraded and connects when it is back.")]
        public static partial void StartedDisconnected(ILogger logger, string configuration);

        [LoggerMessage(2004, LogLevel.Error, "Redis {Version} has no sharded pub/sub (SSUBSCRIBE, Redis 7.0 or later): Stops reach other nodes only through the database, within a lease interval, and another node's follower sees an answer only once it is stored.")]
        public static partial void NoShardedPubSub(ILogger logger, string version);
    }
}
