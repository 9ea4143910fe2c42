using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using ChatPortal.Core.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatPortal.Core.Generation;

/// <summary>
/// The embedded model: deterministic, readable Markdown answers (paragraphs, a list, a code block),
/// streamed word by word at <c>Model:Simulated:TokensPerSecond</c> for <c>ResponseTokens</c> tokens.
/// The same question gets the same answer, so tests can compare streamed and stored text. Asked for a few tokens
/// (<see cref="ChatOptions.MaxOutputTokens"/> up to <see cref="ShortReplyTokens"/>: a title), it names the topic of
/// the conversation's first question. Like a provider, it reports its usage at the end of a complete answer: its
/// tokens are words, so the counts are exact for it.
/// </summary>
public sealed partial class SimulatedChatClient(IOptionsMonitor<ChatPortalOptions> options, TimeProvider time) : IChatClient
{
    public static readonly ChatClientMetadata Metadata = new("simulated", null, "chatportal-simulated");

    /// <summary>Up to this many tokens asked for, the answer is a short reply (the topic), not an essay.</summary>
    public const int ShortReplyTokens = 32;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        await foreach (var update in GetStreamingResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? chatOptions = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var settings = options.CurrentValue.Model.Simulated;
        var prompt = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var question = prompt.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var count = Math.Min(settings.ResponseTokens, chatOptions?.MaxOutputTokens ?? int.MaxValue);
        var tokens = chatOptions?.MaxOutputTokens <= ShortReplyTokens
            ? Tokenize(ShortReply(prompt), count)
            : Tokenize(Compose(question, count), count);
        var responseId = Guid.NewGuid().ToString("N");

        cancellationToken.ThrowIfCancellationRequested();
        if (settings.FirstTokenDelayMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(settings.FirstTokenDelayMs), time, cancellationToken).ConfigureAwait(false);
        }

        // Paced against the clock, not per-token sleeps: fast rates emit several tokens per wake-up.
        var interval = TimeSpan.FromSeconds(1 / settings.TokensPerSecond);
        var start = time.GetTimestamp();
        for (var i = 0; i < tokens.Count; i++)
        {
            var due = interval * i;
            var wait = due - time.GetElapsedTime(start);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, tokens[i]) { ResponseId = responseId, ModelId = Metadata.DefaultModelId };
        }

        var input = prompt.Sum(m => TokenPattern().Count(m.Text) + 4);
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails
        {
            InputTokenCount = input,
            OutputTokenCount = tokens.Count,
            TotalTokenCount = input + tokens.Count,
        })]) { ResponseId = responseId, ModelId = Metadata.DefaultModelId, FinishReason = ChatFinishReason.Stop };
    }

    /// <summary>
    /// What the simulated model calls a title: the conversation's first question without its question words ("how do
    /// I", "what is"…), at most seven words, capitalised.
    /// </summary>
    internal static string ShortReply(IReadOnlyList<ChatMessage> prompt)
    {
        var first = prompt.FirstOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var words = SplitWords(first.Split("\n---", 2)[0]);
        var skip = 0;
        while (skip < words.Count - 1 && skip < 3 && QuestionWords.Contains(words[skip]))
        {
            skip++;
        }

        var title = string.Join(' ', words.Skip(skip).Take(7));
        return title.Length == 0 ? "Chat" : string.Concat(char.ToUpperInvariant(title[0]).ToString(), title.AsSpan(1));
    }

    private static readonly HashSet<string> QuestionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "how", "what", "why", "when", "where", "which", "who", "do", "does", "did", "is", "are", "can", "could", "should",
        "would", "i", "we", "you", "to", "please", "tell", "me", "explain",
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    /// <summary>The whole answer to a question, long enough for <paramref name="tokens"/> tokens.</summary>
    internal static string Compose(string question, int tokens)
    {
        var topic = Topic(question);
        var seed = (int)(XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(question)) & 0x7fffffff);
        var text = new StringBuilder();
        for (var part = 0; Words(text) < tokens + 10; part++)
        {
            var s = (seed + part) % Openings.Length;
            text.Append(part == 0 ? $"Good question about **{topic}**. " : $"\n\nLet's go one step further with {topic} (part {part + 1}). ");
            text.Append(Openings[s]).Append(' ').Append(Openings[(s + 1) % Openings.Length]).Append("\n\n");
            text.Append("Here is what matters most:\n\n");
            for (var i = 0; i < 4; i++)
            {
                text.Append("- ").Append(Points[(s + i + part) % Points.Length]).Append('\n');
            }

            text.Append("\nA small example in C#:\n\n```csharp\n");
            text.Append($"var answer = await chat.AskAsync(\"{Escape(topic)}\", cancellationToken);\n");
            text.Append("Console.WriteLine(answer.Text);\n```\n\n");
            text.Append(Closings[(s + part) % Closings.Length]);
        }

        return text.ToString();
    }

    /// <summary>Splits into word tokens (each keeps its trailing whitespace) and keeps the first <paramref name="count"/>.</summary>
    internal static List<string> Tokenize(string text, int count)
    {
        var tokens = TokenPattern().Matches(text).Select(m => m.Value).Take(count).ToList();
        var fences = tokens.Sum(t => CountOf(t, "```"));
        if (fences % 2 == 1 && tokens.Count > 0)
        {
            tokens[^1] = tokens[^1].TrimEnd() + "\n```";
        }

        return tokens;
    }

    private static string Topic(string question)
    {
        var topic = string.Join(" ", SplitWords(question).Take(6));
        return topic.Length == 0 ? "your question" : topic;
    }

    private static List<string> SplitWords(string text) =>
        [.. text.Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('?', '!', '.', ',', ';', ':', '"', '\'', '`', '*', '_', '#', '<', '>', '[', ']', '(', ')'))
            .Where(w => w.Length > 0)];

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"");

    private static int Words(StringBuilder text) => TokenPattern().Count(text.ToString());

    private static int CountOf(string text, string part)
    {
        var n = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    [GeneratedRegex(@"\s*\S+\s*")]
    private static partial Regex TokenPattern();

    private static readonly string[] Openings =
    [
        "The short answer is that it depends on what you optimise for, but a few principles hold almost everywhere.",
        "Most teams get the basics right and then lose time on the edges, so it pays to be explicit about them early.",
        "It helps to separate what must be correct from what only needs to be fast, and to measure both.",
        "A good design keeps the common path simple and makes the rare path visible rather than clever.",
        "Start from the behaviour a user sees, then work back to the mechanism that guarantees it.",
        "There is rarely one right answer, yet some answers are clearly wrong, and those are worth ruling out first.",
    ];

    private static readonly string[] Points =
    [
        "**Keep state where every node can see it**, and keep only caches in memory.",
        "**Push instead of poll**: a message on change beats a query on a timer.",
        "**Measure before tuning**; a benchmark that prints a table settles arguments.",
        "**Fail visibly**: a degraded banner is better than a silent hang.",
        "**Make every end state final**, so nothing is stuck half-way.",
        "**Batch the chatty work** into one round trip where you can.",
        "**Test the failure paths** as seriously as the happy path.",
    ];

    private static readonly string[] Closings =
    [
        "If you share more about your constraints, I can make this more concrete.",
        "That should give you a solid starting point; the details will follow from your own numbers.",
        "In practice, the simplest version that passes its tests is usually the one to ship first.",
    ];
}
