using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatPortal.Tests.OpenAI;

/// <summary>
/// A small OpenAI-compatible server on a real loopback port: <c>POST /v1/chat/completions</c> with
/// <c>stream: true</c> answers real SSE chunks (and, when the client asks with <c>stream_options.include_usage</c>,
/// a last chunk with the usage, as OpenAI does); without <c>stream</c> it answers one JSON completion (titles). It
/// records what it was asked, sees when the client closes the connection, and refuses a prompt longer than
/// <see cref="ContextWindow"/> as a real model does.
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

    /// <summary>The streamed requests (answers), in order.</summary>
    public ConcurrentQueue<JsonElement> Requests { get; } = new();

    /// <summary>The requests without <c>stream</c> (title requests), in order.</summary>
    public ConcurrentQueue<JsonElement> NonStreamingRequests { get; } = new();

    /// <summary>Send usage when the client asks for it (<c>stream_options.include_usage</c>); false: a server that never reports usage.</summary>
    public bool ReportUsage { get; set; } = true;

    /// <summary>The usage each streamed answer reported, in order (input, output).</summary>
    public ConcurrentQueue<(int Input, int Output)> ReportedUsage { get; } = new();

    /// <summary>Prompts over this many tokens (this server's count: <see cref="PromptTokens"/>) answer 400 context_length_exceeded.</summary>
    public int? ContextWindow { get; set; }

    /// <summary>What a request without <c>stream</c> answers (a title); null: 500.</summary>
    public string? CompletionText { get; set; } = "A title";

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
        var request = body.RootElement.Clone();
        var model = request.TryGetProperty("model", out var m) ? m.GetString() ?? "test-model" : "test-model";
        var promptTokens = PromptTokens(request);
        if (!(request.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True))
        {
            NonStreamingRequests.Enqueue(request);
            await CompleteAsync(context, model, promptTokens);
            return;
        }

        Requests.Enqueue(request);
        if (ContextWindow is { } window && promptTokens > window)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new
            {
                error = new
                {
                    message = $"This model's maximum context length is {window} tokens. However, your messages resulted in {promptTokens} tokens.",
                    type = "invalid_request_error",
                    code = "context_length_exceeded",
                },
            });
            return;
        }

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

                await context.Response.WriteAsync($"data: {Chunk(Word(i), null, model)}\n\n", aborted);
                await context.Response.Body.FlushAsync(aborted);
                written++;
                await Task.Delay(Interval, aborted);
            }

            await context.Response.WriteAsync($"data: {Chunk(null, "stop", model)}\n\n", aborted);
            if (ReportUsage && request.TryGetProperty("stream_options", out var options)
                && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True)
            {
                ReportedUsage.Enqueue((promptTokens, written));
                await context.Response.WriteAsync($"data: {UsageChunk(promptTokens, written, model)}\n\n", aborted);
            }

            await context.Response.WriteAsync("data: [DONE]\n\n", aborted);
            Completions.Enqueue(new Completion(written, false, DateTimeOffset.UtcNow));
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Completions.Enqueue(new Completion(written, true, DateTimeOffset.UtcNow));
        }
    }

    /// <summary>This server's token count of a prompt: a token per four characters of content, three per message.</summary>
    public static int PromptTokens(JsonElement request) =>
        request.TryGetProperty("messages", out var messages)
            ? messages.EnumerateArray().Sum(message => 3 + ContentOf(message).Length / 4)
            : 0;

    public static string ContentOf(JsonElement message) =>
        message.GetProperty("content") is { ValueKind: JsonValueKind.String } text
            ? text.GetString() ?? ""
            : string.Concat(message.GetProperty("content").EnumerateArray().Select(p => p.GetProperty("text").GetString()));

    private async Task CompleteAsync(HttpContext context, string model, int promptTokens)
    {
        if (CompletionText is not { } text)
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "the model crashed", type = "server_error" } });
            return;
        }

        await context.Response.WriteAsJsonAsync(new
        {
            id = "chatcmpl-title",
            @object = "chat.completion",
            created = 1_700_000_000,
            model,
            choices = new object[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
            usage = new { prompt_tokens = promptTokens, completion_tokens = 5, total_tokens = promptTokens + 5 },
        });
    }

    private static string UsageChunk(int input, int output, string model) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-test",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model,
        choices = Array.Empty<object>(),
        usage = new { prompt_tokens = input, completion_tokens = output, total_tokens = input + output },
    });

    private static string Chunk(string? content, string? finish, string model) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-test",
        @object = "chat.completion.chunk",
        created = 1_700_000_000,
        model,
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
