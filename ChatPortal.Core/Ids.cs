using System.Security.Cryptography;

namespace ChatPortal.Core;

/// <summary>
/// Identifiers. A task id embeds its conversation id (<c>{conversationId}-{suffix}</c>), so any node can
/// find a task's claim from the id alone; the assistant message a task writes has the task's id.
/// </summary>
public static class Ids
{
    private const int ConversationIdLength = 24;

    public static string NewConversationId() => Random(12);

    public static string NewMessageId() => Random(8);

    public static string NewTaskId(string conversationId) => $"{conversationId}-{Random(4)}";

    public static string NewUserId() => Random(12);

    /// <summary>A short id that ties a failure shown to a user to its log line.</summary>
    public static string NewErrorId() => Random(4);

    public static bool IsConversationId(string? value) =>
        value is { Length: ConversationIdLength } && value.All(char.IsAsciiHexDigitLower);

    public static bool TryGetConversationId(string? taskId, out string conversationId)
    {
        conversationId = "";
        if (taskId is null || taskId.Length != ConversationIdLength + 9 || taskId[ConversationIdLength] != '-')
        {
            return false;
        }

        var candidate = taskId[..ConversationIdLength];
        if (!IsConversationId(candidate) || !taskId.AsSpan(ConversationIdLength + 1).ToString().All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        conversationId = candidate;
        return true;
    }

    private static string Random(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
}
