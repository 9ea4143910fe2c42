using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Api;

/// <summary>
/// A conversation as a file: Markdown to read or paste elsewhere, JSON to process. Both hold the branch on screen
/// (what <c>GET /api/conversations/{id}</c> shows), stored messages only: an answer still being written is not in it.
/// </summary>
public static class ConversationExport
{
    public const string Markdown = "markdown";
    public const string Json = "json";

    public static readonly IReadOnlyList<string> Formats = [Markdown, Json];

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string ContentType(string format) => format == Json ? "application/json; charset=utf-8" : "text/markdown; charset=utf-8";

    /// <summary>A file name from the title: letters, digits and dashes, at most 60 characters, then the format's extension.</summary>
    public static string FileName(string title, string format)
    {
        var name = new StringBuilder();
        foreach (var c in title.Normalize(NormalizationForm.FormC))
        {
            if (char.IsLetterOrDigit(c))
            {
                name.Append(c);
            }
            else if (name.Length > 0 && name[^1] != '-')
            {
                name.Append('-');
            }

            if (name.Length >= 60)
            {
                break;
            }
        }

        var stem = name.ToString().Trim('-');
        return $"{(stem.Length == 0 ? "conversation" : stem)}.{(format == Json ? "json" : "md")}";
    }

    public static byte[] ToBytes(Conversation conversation, string format, DateTimeOffset exportedAt) =>
        format == Json
            ? JsonSerializer.SerializeToUtf8Bytes(ToDocument(conversation, exportedAt), JsonOptions)
            : Encoding.UTF8.GetBytes(ToMarkdown(conversation, exportedAt));

    /// <summary>The title, when it was exported, then each message under who wrote it and when (and how it ended, if not completed).</summary>
    public static string ToMarkdown(Conversation conversation, DateTimeOffset exportedAt)
    {
        var text = new StringBuilder();
        text.Append("# ").Append(conversation.Title.ReplaceLineEndings(" ")).Append("\n\n");
        var count = conversation.Messages.Count;
        text.Append("*Exported from ChatPortal on ").Append(Time(exportedAt)).Append(" · ")
            .Append(count).Append(count == 1 ? " message" : " messages").Append("*\n");
        foreach (var message in conversation.Messages)
        {
            text.Append("\n---\n\n**").Append(message.Role == ChatRole.User ? "You" : "Assistant").Append("** · ").Append(Time(message.CreatedAt));
            text.Append(message.Status switch
            {
                MessageStatus.Cancelled => " · *stopped*",
                MessageStatus.Failed => " · *failed*",
                _ => "",
            });
            text.Append('\n');
            if (message.Content.ReplaceLineEndings("\n").TrimEnd() is { Length: > 0 } content)
            {
                text.Append('\n').Append(content).Append('\n');
            }

            if (message.Status == MessageStatus.Failed && message.Error is { Length: > 0 } error)
            {
                text.Append("\n> ").Append(error.ReplaceLineEndings(" ")).Append('\n');
            }
        }

        return text.ToString();
    }

    public static ExportDocument ToDocument(Conversation conversation, DateTimeOffset exportedAt) => new(
        conversation.Id,
        conversation.Title,
        conversation.CreatedAt,
        conversation.UpdatedAt,
        exportedAt,
        [.. conversation.Messages.Select(m => new ExportMessage(m.Id, m.ParentId, ApiText.Of(m.Role), m.Content, ApiText.Of(m.Status), m.Error, m.CreatedAt))]);

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public sealed record ExportDocument(string Id, string Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset ExportedAt, IReadOnlyList<ExportMessage> Messages);

    public sealed record ExportMessage(string Id, string? ParentId, string Role, string Content, string Status, string? Error, DateTimeOffset CreatedAt);
}
