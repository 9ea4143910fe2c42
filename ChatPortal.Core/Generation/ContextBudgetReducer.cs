using System.Text;
using Microsoft.Extensions.AI;

namespace ChatPortal.Core.Generation;

/// <summary>
/// Token counts without the model's tokenizer, on the safe side: a token per three bytes of UTF-8 (English
/// averages about four characters a token, so it counts English about a third high; code and CJK, about one character
/// a token, come out close) and a few tokens of framing per message.
/// Used to fit a prompt to a context window, and shown (labelled as an estimate) when a provider reports no usage.
/// </summary>
public static class TokenEstimator
{
    /// <summary>Role and separators around each message.</summary>
    public const int PerMessage = 4;

    public static int Estimate(string text) => text.Length == 0 ? 0 : (Encoding.UTF8.GetByteCount(text) + 2) / 3;

    public static int Estimate(ChatMessage message) => Estimate(message.Text) + PerMessage;

    public static int Estimate(IEnumerable<ChatMessage> messages) => messages.Sum(Estimate);
}

/// <summary>
/// Fits a prompt to a token budget (a Microsoft.Extensions.AI <see cref="IChatReducer"/>): the system messages (the
/// instructions) and the latest question always stay; older turns go first, whole, so the history sent is the
/// newest stretch of the conversation that fits and starts with a question. A conversation never fails for its length.
/// </summary>
public sealed class ContextBudgetReducer(int budget) : IChatReducer
{
    public int Budget { get; } = budget;

    public Task<IEnumerable<ChatMessage>> ReduceAsync(IEnumerable<ChatMessage> messages, CancellationToken cancellationToken) =>
        Task.FromResult<IEnumerable<ChatMessage>>(Reduce(messages as IReadOnlyList<ChatMessage> ?? [.. messages]));

    public IReadOnlyList<ChatMessage> Reduce(IReadOnlyList<ChatMessage> messages)
    {
        var system = messages.Where(m => m.Role == ChatRole.System).ToList();
        var history = messages.Where(m => m.Role != ChatRole.System).ToList();
        if (history.Count == 0)
        {
            return system;
        }

        // Newest first: the latest message always, then each older one while it fits.
        var used = TokenEstimator.Estimate(system) + TokenEstimator.Estimate(history[^1]);
        var first = history.Count - 1;
        while (first > 0)
        {
            var cost = TokenEstimator.Estimate(history[first - 1]);
            if (used + cost > Budget)
            {
                break;
            }

            used += cost;
            first--;
        }

        // A cut history starts with a question, not with half a turn.
        while (first > 0 && first < history.Count - 1 && history[first].Role != ChatRole.User)
        {
            first++;
        }

        return first == 0 ? messages : [.. system, .. history.Skip(first)];
    }
}
