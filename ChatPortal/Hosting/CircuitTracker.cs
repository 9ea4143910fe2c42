using System.Collections.Concurrent;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.JSInterop;

namespace ChatPortal.Hosting;

/// <summary>
/// This node's live Blazor circuits: counted for the dashboard and the heartbeat, and, while their browser is
/// connected, reachable for a hand-off to another node when this one stops (<see cref="CircuitHandoff"/>).
/// </summary>
public sealed class CircuitTracker
{
    private readonly ConcurrentDictionary<string, Entry> _circuits = new();

    public int Count => _circuits.Count;

    /// <summary>Circuits whose browser is connected right now.</summary>
    public int ConnectedCount => _circuits.Values.Count(e => e.Connected);

    /// <summary>The browsers of the connected circuits, to call through JS interop.</summary>
    internal IReadOnlyList<IJSRuntime> ConnectedBrowsers() => [.. _circuits.Values.Where(e => e.Connected).Select(e => e.Browser)];

    private sealed class Entry(IJSRuntime browser)
    {
        public IJSRuntime Browser => browser;

        public volatile bool Connected = true;
    }

    /// <summary>Scoped: one per circuit, with that circuit's <see cref="IJSRuntime"/>.</summary>
    internal sealed class Handler(CircuitTracker tracker, IJSRuntime browser) : CircuitHandler
    {
        public override Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
        {
            tracker._circuits[circuit.Id] = new Entry(browser);
            return Task.CompletedTask;
        }

        public override Task OnConnectionUpAsync(Circuit circuit, CancellationToken cancellationToken)
        {
            SetConnected(circuit, true);
            return Task.CompletedTask;
        }

        public override Task OnConnectionDownAsync(Circuit circuit, CancellationToken cancellationToken)
        {
            SetConnected(circuit, false);
            return Task.CompletedTask;
        }

        public override Task OnCircuitClosedAsync(Circuit circuit, CancellationToken cancellationToken)
        {
            tracker._circuits.TryRemove(circuit.Id, out _);
            return Task.CompletedTask;
        }

        private void SetConnected(Circuit circuit, bool connected)
        {
            if (tracker._circuits.TryGetValue(circuit.Id, out var entry))
            {
                entry.Connected = connected;
            }
        }
    }
}
