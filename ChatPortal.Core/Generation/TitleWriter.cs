using System.Collections.Concurrent;
using ChatPortal.Core.Conversations;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;
using AiRole = Microsoft.Extensions.AI.ChatRole;

namespace ChatPortal.Core.Generation;

/// <summary>
/// Names a conversation after its first answer: one short request to the conversation's model, in the background,
/// cancelled after <see cref="Timeout"/> or when the node stops. The title replaces the one taken from the question
/// only while the conversation still has it (a rename by the user wins); on any failure the question's first words stay.
/// </summary>
public sealed partial class TitleWriter(ModelCatalog models, IConversationStore store, ConversationEvents events, ILogger<TitleWriter> logger) : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>A title is a few words; this bounds what a title request may cost.</summary>
    public const int MaxTokens = 24;

    public const string Instructions =
        "Write a title for the conversation below: at most six words, in the language of the question. " +
        "Reply with the title only, without quotes or a final full stop.";

    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, bool> _running = new();

    /// <summary>Title requests in flight (tracked so that the node's stop cancels them and tests can wait for them).</summary>
    public Task WhenIdleAsync() => Task.WhenAll(_running.Keys);

    public void Start(ModelEntry model, string conversationId, string userId, string question, string answer)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        Task work;
        using (ExecutionContext.SuppressFlow())
        {
            work = Task.Run(() => WriteAsync(model, conversationId, userId, question, answer));
        }

        _running[work] = true;
        _ = work.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task WriteAsync(ModelEntry model, string conversationId, string userId, string question, string answer)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(Timeout);
        try
        {
            List<AiMessage> prompt =
            [
                new(AiRole.System, Instructions),
                new(AiRole.User, $"{Excerpt(question, 1000)}\n\n---\n\n{Excerpt(answer, 1500)}"),
            ];
            var response = await models.ClientFor(model)
                .GetResponseAsync(prompt, new ChatOptions { MaxOutputTokens = MaxTokens, Temperature = 0.2f }, timeout.Token).ConfigureAwait(false);
            if (Clean(response.Text) is not { } title)
            {
                Log.Unusable(logger, conversationId);
                return;
            }

            if (await store.ReplaceTitleAsync(conversationId, Conversation.TitleFrom(question), title, timeout.Token).ConfigureAwait(false))
            {
                events.Raise(new ConversationTitleChanged(conversationId, userId, title));
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Log.TimedOut(logger, conversationId);
        }
        catch (Exception ex)
        {
            Log.Failed(logger, ex, conversationId);
        }
    }

    /// <summary>The title in a model's reply: its first line without quotes, Markdown or a "Title:" label; null when nothing is left.</summary>
    internal static string? Clean(string? reply)
    {
        var line = (reply ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        if (line.StartsWith("title:", StringComparison.OrdinalIgnoreCase))
        {
            line = line[6..];
        }

        line = string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Trim().Trim('"', '\'', '*', '#', '`', '“', '”', '«', '»', ' ').TrimEnd('.', ' ');
        return line.Length == 0 ? null : Conversation.TitleFrom(line);
    }

    private static string Excerpt(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");

    public void Dispose()
    {
        // Not disposed: a request starting at this moment still reads its token (cancelled).
        _stopping.Cancel();
    }

    private static partial class Log
    {
        [LoggerMessage(1201, LogLevel.Debug, "The model's title for conversation {ConversationId} was empty; the question's words stay.")]
        public static partial void Unusable(ILogger logger, string conversationId);

        [LoggerMessage(1202, LogLevel.Debug, "The title request for conversation {ConversationId} was cancelled (timeout or shutdown); the question's words stay.")]
        public static partial void TimedOut(ILogger logger, string conversationId);

        [LoggerMessage(1203, LogLevel.Debug, "The title request for conversation {ConversationId} failed; the question's words stay.")]
        public static partial void Failed(ILogger logger, Exception exception, string conversationId);
    }
}
