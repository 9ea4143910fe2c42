using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace ChatPortal.Tests.Unit;

/// <summary>
/// A model client whose behaviour is a callback, in the style of dotnet/extensions' <c>TestChatClient</c>:
/// each test says what the "model" yields, when it waits and when it throws.
/// </summary>
public sealed class TestChatClient : IChatClient
{
    /// <summary>Called for every streaming request; yields the updates the engine receives.</summary>
    public Func<IEnumerable<ChatMessage>, ChatOptions?, CancellationToken, IAsyncEnumerable<ChatResponseUpdate>>? GetStreamingResponseAsyncCallback { get; set; }

    public Func<Type, object?, object?> GetServiceCallback { get; set; } = static (_, _) => null;

    /// <summary>The messages of every request, in order.</summary>
    public List<IReadOnlyList<ChatMessage>> Requests { get; } = [];

    /// <summary>A client that yields <paramref name="texts"/> as updates and then ends.</summary>
    public static TestChatClient Yielding(params string[] texts) => new()
    {
        GetStreamingResponseAsyncCallback = (_, _, cancellationToken) => Updates(texts, cancellationToken),
    };

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        return updates.ToChatResponse();
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        lock (Requests)
        {
            Requests.Add(list);
        }

        var callback = GetStreamingResponseAsyncCallback ?? throw new InvalidOperationException("No streaming callback set.");
        return callback(list, options, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => GetServiceCallback(serviceType, serviceKey);

    public void Dispose()
    {
    }

    /// <summary>One assistant update with this text.</summary>
    public static ChatResponseUpdate Update(string text) => new(ChatRole.Assistant, text);

    private static async IAsyncEnumerable<ChatResponseUpdate> Updates(string[] texts, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var text in texts)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return Update(text);
        }
    }
}
