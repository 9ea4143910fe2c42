using System.Diagnostics;
using Microsoft.JSInterop;

namespace ChatPortal.Hosting;

/// <summary>
/// A graceful stop (rolling restart) moves this node's open pages to the other nodes without a reload. Each connected
/// browser is asked to pause its circuit and resume it at once (<c>chatPortal.moveToAnotherNode</c>,
/// ReconnectModal.razor.js): pausing sends the page's persisted component state (the chat's draft among it) to the
/// browser, protected with the cluster's Data Protection keys, or to the Redis-backed HybridCache when the browser
/// cannot take it; the resume reaches another node because this one refuses new pinned requests from now on
/// (<see cref="NodeDrain"/>, and nginx passes a 503 to the next node). Bounded by <see cref="Deadline"/>.
/// <para>
/// It must run before <c>ApplicationStopping</c>: SignalR closes every connection then, and a page cut off can no
/// longer be paused. A SIGTERM or Ctrl+C signals <c>ApplicationStopping</c> at once (ConsoleLifetime), so the signal
/// goes through <see cref="HandoffFirstLifetime"/>; a stop through the host's StopAsync runs the lifecycle's
/// "stopping" phase first, so <see cref="StoppingAsync"/> covers that. Either way, once, and before running answers
/// drain (<see cref="GenerationShutdown"/>). Registered in cluster mode only: a single node has nowhere to send its
/// pages.
/// </para>
/// </summary>
internal sealed class CircuitHandoff(CircuitTracker circuits, NodeDrain drain, ILogger<CircuitHandoff> logger) : IHostedLifecycleService
{
    /// <summary>How long the pages get to leave (on a busy node, a few hundred milliseconds in practice).</summary>
    internal static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    private readonly Lazy<Task> _handoff = new(() => MoveAllAsync(circuits, drain, logger));

    /// <summary>Moves the pages (the first call does it; every call waits for it).</summary>
    public Task MoveAllAsync() => _handoff.Value;

    public Task StoppingAsync(CancellationToken cancellationToken) => MoveAllAsync();

    private static async Task MoveAllAsync(CircuitTracker circuits, NodeDrain drain, ILogger logger)
    {
        drain.Start();
        var browsers = circuits.ConnectedBrowsers();
        if (browsers.Count == 0)
        {
            return;
        }

        CircuitLog.HandoffStarted(logger, browsers.Count);
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(Deadline);
        await Task.WhenAll(browsers.Select(browser => AskToMoveAsync(browser, logger, deadline.Token)));

        // A paused circuit is closed here: wait until every page has left (or the deadline).
        while (circuits.ConnectedCount > 0 && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
        }

        var left = circuits.ConnectedCount;
        CircuitLog.HandoffEnded(logger, browsers.Count - left, left, clock.ElapsedMilliseconds);
    }

    private static async Task AskToMoveAsync(IJSRuntime browser, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            // Returns at once: the browser pauses and resumes on its own, after this call has been answered.
            await browser.InvokeVoidAsync("chatPortal.moveToAnotherNode", cancellationToken);
        }
        catch (Exception ex) when (ex is JSException or JSDisconnectedException or OperationCanceledException or InvalidOperationException)
        {
            // A page that cannot be asked stays here and reconnects (then reloads) through the reconnect dialog.
            CircuitLog.HandoffRequestFailed(logger, ex);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The application lifetime as ConsoleLifetime sees it: a stop that a signal asks for (SIGTERM, Ctrl+C) first moves
/// this node's pages (<see cref="CircuitHandoff"/>), then stops the application. A second signal stops at once.
/// </summary>
internal sealed class HandoffFirstLifetime(IHostApplicationLifetime lifetime, CircuitHandoff handoff) : IHostApplicationLifetime
{
    private int _stops;

    public CancellationToken ApplicationStarted => lifetime.ApplicationStarted;

    public CancellationToken ApplicationStopping => lifetime.ApplicationStopping;

    public CancellationToken ApplicationStopped => lifetime.ApplicationStopped;

    public void StopApplication()
    {
        if (Interlocked.Increment(ref _stops) > 1)
        {
            lifetime.StopApplication();
            return;
        }

        _ = handoff.MoveAllAsync().ContinueWith(_ => lifetime.StopApplication(), TaskScheduler.Default);
    }
}

/// <summary>
/// Set when this node starts to stop: from then on it refuses what the balancer pins to a node (pages, static files,
/// Blazor and hub connections) with 503, so nginx sends those to another node, while the API, health and metrics
/// go on serving (running answers and their streams drain).
/// </summary>
public sealed class NodeDrain
{
    private volatile bool _draining;

    public bool IsDraining => _draining;

    internal void Start() => _draining = true;

    /// <summary>What stays served while draining: the API (streams and Stops of running answers), health, metrics.</summary>
    internal static bool ServedWhileDraining(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics");

    internal static async Task RefuseAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        context.Response.Headers.Connection = "close";
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("This node is shutting down; the balancer sends you to another one.");
    }
}

/// <summary>Log messages of Blazor circuits on this node (event ids 3101-3199).</summary>
internal static partial class CircuitLog
{
    [LoggerMessage(3101, LogLevel.Information, "Shutting down: asking {Count} connected page(s) to move to another node.")]
    public static partial void HandoffStarted(ILogger logger, int count);

    [LoggerMessage(3102, LogLevel.Information, "{Moved} page(s) left for another node, {Left} still connected here, after {ElapsedMs} ms.")]
    public static partial void HandoffEnded(ILogger logger, int moved, int left, long elapsedMs);

    [LoggerMessage(3103, LogLevel.Debug, "A page could not be asked to move to another node.")]
    public static partial void HandoffRequestFailed(ILogger logger, Exception exception);
}
