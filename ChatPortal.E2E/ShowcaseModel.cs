using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.E2E;

/// <summary>
/// An OpenAI-compatible endpoint (<c>POST …/chat/completions</c>, streamed) that always answers with
/// <see cref="Answer"/>: a table and code in three languages, what the simulated model never writes. A node
/// configured with <c>Model:Provider=OpenAI</c> and this endpoint shows how rich answers look and behave.
/// </summary>
public sealed partial class ShowcaseModel : IAsyncDisposable
{
    public const string CSharpCode = """
        // Stop is one call, from whichever node the balancer picks.
        public async Task<string> AskAsync(string question, CancellationToken cancellationToken)
        {
            using var response = await http.PostAsJsonAsync("/api/conversations/42/messages", new { text = question }, cancellationToken);
            return await response.Content.ReadAsStringAsync(cancellationToken);
        }
        """;

    public static readonly string Answer = $$"""
        Here is how an answer is **streamed** and stopped from any node, step by step.

        | Step | Where it runs | Round trips | Notes |
        |---|---|---|---|
        | Claim the conversation | database | 1 | a conditional update: one writer at a time |
        | Stream the tokens | owner node | 0 per chunk | followers get batches every 50 ms |
        | Stop from another node | Redis pub/sub | 1 | backed by a stored request |
        | Commit the answer | database | 1 | fenced: a stale owner writes nothing |

        The client side, in C#:

        ```csharp
        {{CSharpCode}}
        ```

        And from a shell:

        ```bash
        # Cancel a running answer from any node
        curl -s -X POST "$NODE/api/tasks/$TASK_ID/cancel" | jq .status
        ```

        The node answers with the final state:

        ```json
        { "taskId": "t-81c2", "status": "cancelled", "ownerNode": "node-a" }
        ```

        That is all: one `POST`, and the answer stops within milliseconds.
        """;

    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ShowcaseModel(HttpListener listener, string endpoint)
    {
        _listener = listener;
        Endpoint = endpoint;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The base address a node takes as <c>Model:OpenAI:Endpoint</c>.</summary>
    public string Endpoint { get; }

    /// <summary>Pause between two streamed words.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(8);

    public static ShowcaseModel Start()
    {
        var port = FreePort.Next();
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        return new ShowcaseModel(listener, $"http://127.0.0.1:{port}/v1");
    }

    /// <summary>Node settings that make a node answer through this endpoint.</summary>
    public Dictionary<string, string> NodeSettings() => new()
    {
        ["ChatPortal__Model__Provider"] = "OpenAI",
        ["ChatPortal__Model__OpenAI__Endpoint"] = Endpoint,
        ["ChatPortal__Model__OpenAI__ApiKey"] = "showcase-key",
        ["ChatPortal__Model__OpenAI__ModelId"] = "showcase",
    };

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return; // stopped while waiting for a request
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            if (context.Request.HttpMethod != "POST" || context.Request.Url?.AbsolutePath.EndsWith("/chat/completions", StringComparison.Ordinal) != true)
            {
                response.StatusCode = 404;
                return;
            }

            using (var reader = new StreamReader(context.Request.InputStream))
            {
                await reader.ReadToEndAsync();
            }

            response.ContentType = "text/event-stream";
            response.SendChunked = true;
            foreach (Match word in Word().Matches(Answer))
            {
                await WriteAsync(response, Chunk(word.Value, null));
                await Task.Delay(Interval, _stop.Token);
            }

            await WriteAsync(response, Chunk(null, "stop"));
            await response.OutputStream.WriteAsync("data: [DONE]\n\n"u8.ToArray());
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or OperationCanceledException)
        {
            // The node closed the stream (a Stop) or the fixture is stopping: nothing more to send.
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
            {
                // Already closed by the other side.
            }
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, string json)
    {
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes($"data: {json}\n\n"));
        await response.OutputStream.FlushAsync();
    }

    private static string Chunk(string? content, string? finish) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-showcase",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model = "showcase",
        choices = new object[]
        {
            new { index = 0, delta = content is null ? (object)new { } : new { role = "assistant", content }, finish_reason = finish },
        },
    });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        await _loop;
        _stop.Dispose();
    }

    [GeneratedRegex(@"\s*\S+")]
    private static partial Regex Word();
}
