using System.Text.Json;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Api;

/// <summary>Writes the event stream of docs/API.md ("The event stream of a send"): <c>task</c>, then <c>delta</c>s, then <c>done</c>.</summary>
internal static class ServerSentEvents
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Start(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer the stream
    }

    public static async Task WriteAsync<T>(HttpResponse response, string name, T data, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(data, Json);
        await response.WriteAsync($"event: {name}\ndata: {json}\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Relays a task's events until its end. A client that goes away only stops the relay: the task runs on
    /// and is stored.
    /// </summary>
    public static async Task RelayAsync(HttpResponse response, IAsyncEnumerable<TaskStreamEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var item in events.WithCancellation(cancellationToken))
            {
                switch (item)
                {
                    case TaskDelta delta:
                        await WriteAsync(response, "delta", new DeltaEvent(delta.Text), cancellationToken);
                        break;
                    case TaskEnded ended:
                        await WriteAsync(response, "done", new DoneEvent(ApiText.Of(ended.Status), ended.Reason), cancellationToken);
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left; the generation goes on.
        }
    }
}
