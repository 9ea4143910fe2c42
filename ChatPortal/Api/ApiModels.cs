using ChatPortal.Core.Conversations;
using ChatPortal.Core.Tasks;

namespace ChatPortal.Api;

public sealed record CreatedConversation(string Id);

public sealed record ConversationListItem(string Id, string Title, DateTimeOffset UpdatedAt);

/// <summary>What <c>PATCH /api/conversations/{id}</c> answers: the conversation's name and settings.</summary>
public sealed record ConversationSettings(string Id, string Title, DateTimeOffset UpdatedAt, string Model, string? Instructions);

/// <summary>A search hit: <c>snippet</c> is the text of its newest matching message around the matched words (null when only the title matched).</summary>
public sealed record ConversationSearchItem(string Id, string Title, DateTimeOffset UpdatedAt, bool TitleMatches, string? Snippet);

/// <param name="Model">The model that wrote an answer (its id).</param>
/// <param name="Usage">What an answer took; null for questions and for answers stored before usage was recorded.</param>
/// <param name="ParentId">The message this one follows (null: the first question).</param>
/// <param name="SiblingIds">This message and its siblings (other versions of the question, other answers to it), in the order written.</param>
public sealed record MessageDto(
    string Id,
    string Role,
    string Content,
    string Status,
    string? Error = null,
    string? Model = null,
    UsageDto? Usage = null,
    string? ParentId = null,
    IReadOnlyList<string>? SiblingIds = null);

/// <param name="Estimated">True when the provider reported no usage (or only part of it) and ChatPortal estimated it.</param>
public sealed record UsageDto(int InputTokens, int OutputTokens, bool Estimated, int? FirstTokenMs, double? TokensPerSecond);

public sealed record SelectBranchRequest(string? MessageId);

public sealed record ActiveTaskDto(string TaskId, string Node);

/// <param name="Model">The conversation's model (its id; the default when it chose none).</param>
/// <param name="Instructions">Its own instructions; null when it uses the configured system prompt.</param>
public sealed record ConversationDto(string Id, string Title, IReadOnlyList<MessageDto> Messages, ActiveTaskDto? ActiveTask, string Model, string? Instructions);

/// <summary>A configured model as clients see it (no endpoint, no key).</summary>
public sealed record ModelDto(string Id, string Name, string Provider, int ContextWindow, bool Default);

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
        new(message.Id, Of(message.Role), message.Content, Of(message.Status), message.Error, message.ModelId,
            message.Usage is { } u ? new UsageDto(u.InputTokens, u.OutputTokens, u.Estimated, u.FirstTokenMs, u.TokensPerSecond) : null,
            message.ParentId, [.. tree.SiblingsOf(message).Select(m => m.Id)]);
}
