using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Tests.OpenAI;

/// <summary>
/// A small OpenAI-compatible server on a real loopback port: <c>POST /v1/chat/completions</c> with
/// <c>stream: true</c> answers real SSE chunks. It records what it was asked and sees when the client
/// closes the connection.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeOpenAIServer(WebApplication app) => _app = app;

    /// <summary>How the next answers behave.</summary>
    public Behaviour Mode { get; set; } = Behaviour.Stream;

    public int Words { get; set; } = 40;

    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>For <see cref="Behaviour.DisconnectMidStream"/>: chunks sent before the connection is cut.</summary>
    public int ChunksBeforeDisconnect { get; set; } = 5;

    public ConcurrentQueue<JsonElement> Requests { get; } = new();

    public ConcurrentQueue<Completion> Completions { get; } = new();

    public string Endpoint => _app.Urls.First() + "/v1";

    public enum Behaviour
    {
        Stream,
        Error500,
        DisconnectMidStream,
    }

    /// <summary>What happened to one streamed answer on the server side.</summary>
    public sealed record Completion(int ChunksWritten, bool AbortedByClient, DateTimeOffset EndedAt);

    public static string Word(int i) => $"w{i} ";

    public static async Task<FakeOpenAIServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAIServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        await app.StartAsync();
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await JsonDocument.ParseAsync(context.Request.Body);
        Requests.Enqueue(body.RootElement.Clone());
        if (Mode == Behaviour.Error500)
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "the model crashed", type = "server_error" } });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var aborted = context.RequestAborted;
        var written = 0;
        try
        {
            for (var i = 0; i < Words; i++)
            {
                if (Mode == Behaviour.DisconnectMidStream && written == ChunksBeforeDisconnect)
                {
                    context.Abort();
                    Completions.Enqueue(new Completion(written, false, DateTimeOffset.UtcNow));
                    return;
                }

                await context.Response.WriteAsync($"data: {Chunk(Word(i), null)}\n\n", aborted);
                await context.Response.Body.FlushAsync(aborted);
                written++;
                await Task.Delay(Interval, aborted);
            }

            await context.Response.WriteAsync($"data: {Chunk(null, "stop")}\n\ndata: [DONE]\n\n", aborted);
            Completions.Enqueue(new Completion(written, false, DateTimeOffset.UtcNow));
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Completions.Enqueue(new Completion(written, true, DateTimeOffset.UtcNow));
        }
    }

    private static string Chunk(string? content, string? finish) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-test",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model = "test-model",
        choices = new object[]
        {
            new { index = 0, delta = content is null ? (object)new { } : new { role = "assistant", content }, finish_reason = finish },
        },
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
