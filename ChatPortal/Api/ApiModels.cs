using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;

namespace ChatPortal.Api;

public sealed record CreatedConversation(string Id);

public sealed record ConversationListItem(string Id, string Title, DateTimeOffset UpdatedAt);

/// <summary>A search hit: <c>snippet</c> is the text of its newest matching message around the matched words (null when only the title matched).</summary>
public sealed record ConversationSearchItem(string Id, string Title, DateTimeOffset UpdatedAt, bool TitleMatches, string? Snippet);

/// <param name="ParentId">The message this one follows (null: the first question).</param>
/// <param name="SiblingIds">This message and its siblings (other versions of the question, other answers to it), in the order written.</param>
public sealed record MessageDto(string Id, string Role, string Content, string Status, string? Error = null, string? ParentId = null, IReadOnlyList<string>? SiblingIds = null);

public sealed record SelectBranchRequest(string? MessageId);

public sealed record ActiveTaskDto(string TaskId, string Node);

public sealed record ConversationDto(string Id, string Title, IReadOnlyList<MessageDto> Messages, ActiveTaskDto? ActiveTask);

public sealed record SendMessageRequest(string? Text);

public sealed record TaskDto(string TaskId, string ConversationId, string Node, string Status, int Tokens);

public sealed record CancelResponse(string TaskId, string Status, string? OwnerNode);

public sealed record TaskStartedEvent(string TaskId, string Node);

public sealed record DeltaEvent(string Text);

public sealed record DoneEvent(string Status, string? Reason = null);

internal static class ApiText
{
    public static string Of(GenerationStatus status) => status.ToString().ToLowerInvariant();

    public static string Of(MessageStatus status) => status.ToString().ToLowerInvariant();

    public static string Of(ChatRole role) => role == ChatRole.User ? "user" : "assistant";

    public static MessageDto ToDto(this ChatMessage message, ConversationTree tree) =>
        new(message.Id, Of(message.Role), message.Content, Of(message.Status), message.Error, message.ParentId, [.. tree.SiblingsOf(message).Select(m => m.Id)]);
}
