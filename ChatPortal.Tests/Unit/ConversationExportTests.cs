using System.Text.Json;
using ChatPortal.Api;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Unit;

public sealed class ConversationExportTests
{
    private static readonly DateTimeOffset At = new(2025, 6, 1, 9, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("Compare Raft and Paxos", "markdown", "Compare-Raft-and-Paxos.md")]
    [InlineData("  What's new in C# 14?  ", "json", "What-s-new-in-C-14.json")]
    [InlineData("../../etc/passwd", "markdown", "etc-passwd.md")]
    [InlineData("“Ünïcode” — titles", "markdown", "Ünïcode-titles.md")]
    [InlineData("???", "json", "conversation.json")]
    public void FileNamesAreLettersDigitsAndDashes(string title, string format, string expected)
    {
        Assert.Equal(expected, ConversationExport.FileName(title, format));
    }

    [Fact]
    public void AVeryLongTitleMakesAFileNameOfAtMost60CharactersBeforeTheExtension()
    {
        var name = ConversationExport.FileName(string.Join(' ', Enumerable.Repeat("word", 40)), "markdown");

        Assert.True(name.Length <= 60 + ".md".Length, name);
        Assert.EndsWith(".md", name);
        Assert.DoesNotContain("-.", name);
    }

    [Fact]
    public void MarkdownSaysWhoWroteWhatWhenAndHowAnAnswerEnded()
    {
        var conversation = Conversation(
            new ChatMessage("q1", ChatRole.User, "First question", MessageStatus.Completed, At),
            new ChatMessage("a1", ChatRole.Assistant, "Partial\r\nanswer", MessageStatus.Cancelled, At.AddMinutes(1), ParentId: "q1"),
            new ChatMessage("q2", ChatRole.User, "Again?", MessageStatus.Completed, At.AddMinutes(2), ParentId: "a1"),
            new ChatMessage("a2", ChatRole.Assistant, "", MessageStatus.Failed, At.AddMinutes(3), Error: "The model is unreachable.", ParentId: "q2"));

        var markdown = ConversationExport.ToMarkdown(conversation, At.AddHours(1));

        Assert.Equal(
            """
            # Notes

            *Exported from ChatPortal on 2025-06-01 10:30 UTC · 4 messages*

            ---

            **You** · 2025-06-01 09:30 UTC

            First question

            ---

            **Assistant** · 2025-06-01 09:31 UTC · *stopped*

            Partial
            answer

            ---

            **You** · 2025-06-01 09:32 UTC

            Again?

            ---

            **Assistant** · 2025-06-01 09:33 UTC · *failed*

            > The model is unreachable.

            """.ReplaceLineEndings("\n"),
            markdown);
    }

    [Fact]
    public void JsonIsCamelCaseWithEveryMessageField()
    {
        var conversation = Conversation(
            new ChatMessage("q1", ChatRole.User, "Hi", MessageStatus.Completed, At),
            new ChatMessage("a1", ChatRole.Assistant, "Hello", MessageStatus.Completed, At, ParentId: "q1"));

        using var json = JsonDocument.Parse(ConversationExport.ToBytes(conversation, ConversationExport.Json, At));

        var root = json.RootElement;
        Assert.Equal(["id", "title", "createdAt", "updatedAt", "exportedAt", "messages"], root.EnumerateObject().Select(p => p.Name));
        var answer = root.GetProperty("messages")[1];
        Assert.Equal(["id", "parentId", "role", "content", "status", "error", "createdAt"], answer.EnumerateObject().Select(p => p.Name));
        Assert.Equal("q1", answer.GetProperty("parentId").GetString());
        Assert.Equal("assistant", answer.GetProperty("role").GetString());
    }

    private static Conversation Conversation(params ChatMessage[] messages) => new("c1", "u1", "Notes", At, At, messages);
}
