using System.Text;
using System.Text.RegularExpressions;

namespace ChatPortal.Core.Conversations;

/// <summary>
/// What a user typed in the search box, reduced to the words the full-text index can match: runs of letters and
/// digits, lower-cased, each matched as a word prefix (so "redi" finds "Redis"), all of them required. Nothing of the
/// input reaches the database's query syntax but those words.
/// </summary>
public sealed partial record SearchQuery
{
    public const int MaxLength = 200;
    public const int MaxWords = 12;

    private SearchQuery(IReadOnlyList<string> words) => Words = words;

    public IReadOnlyList<string> Words { get; }

    /// <summary>SQLite FTS5: each word a quoted prefix phrase, all required (<c>"redis"* "stop"*</c>).</summary>
    public string ToFts5() => string.Join(' ', Words.Select(w => $"\"{w}\"*"));

    /// <summary>PostgreSQL <c>to_tsquery('simple', …)</c>: each word a prefix, all required (<c>redis:* &amp; stop:*</c>).</summary>
    public string ToTsQuery() => string.Join(" & ", Words.Select(w => $"{w}:*"));

    /// <summary>Reads a query; on failure <paramref name="problem"/> says why, in words for the user.</summary>
    public static bool TryParse(string? text, out SearchQuery? query, out string? problem)
    {
        query = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "The search is empty.";
            return false;
        }

        if (text.Length > MaxLength)
        {
            problem = $"The search is longer than {MaxLength} characters.";
            return false;
        }

        var words = Word().Matches(text).Select(m => m.Value.ToLowerInvariant()).Distinct().ToList();
        if (words.Count == 0)
        {
            problem = "The search has no words to look for: use letters or digits.";
            return false;
        }

        if (words.Count > MaxWords)
        {
            problem = $"The search has more than {MaxWords} words.";
            return false;
        }

        query = new SearchQuery(words);
        return true;
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Word();
}

/// <summary>A conversation that matches a search: by its title, by some of its messages (with a snippet of one), or both.</summary>
/// <param name="Snippet">Text of a matching message around the matched words, marked by <see cref="SearchSnippet"/>; null when only the title matched.</param>
public sealed record ConversationMatch(string Id, string Title, DateTimeOffset UpdatedAt, bool TitleMatches, string? Snippet)
{
    public ConversationSummary Summary => new(Id, Title, UpdatedAt);
}

/// <summary>
/// The markers the database puts around matched words in a snippet (control characters, which never reach the page:
/// the snippet is shown as text with the matched parts in <c>&lt;mark&gt;</c>).
/// </summary>
public static partial class SearchSnippet
{
    public const char Start = '\u0002';
    public const char End = '\u0003';

    /// <summary>The snippet in order: plain text and matched words (<c>Hit</c>).</summary>
    public static IEnumerable<(string Text, bool Hit)> Parts(string snippet)
    {
        var text = new StringBuilder();
        var hit = false;
        foreach (var c in snippet)
        {
            if (c is Start or End)
            {
                if (text.Length > 0)
                {
                    yield return (text.ToString(), hit);
                    text.Clear();
                }

                hit = c == Start;
            }
            else
            {
                text.Append(c);
            }
        }

        if (text.Length > 0)
        {
            yield return (text.ToString(), hit);
        }
    }

    /// <summary>The snippet as plain text (markers removed).</summary>
    public static string Plain(string snippet) => snippet.Replace(Start.ToString(), "", StringComparison.Ordinal).Replace(End.ToString(), "", StringComparison.Ordinal);

    /// <summary>
    /// A snippet of a message as a reader sees it: the Markdown emphasis, code ticks and heading marks an answer is
    /// written in are left out (they would show as "**" and "#" in a line of plain text), and runs of white space and
    /// line breaks become one space. The markers stay.
    /// </summary>
    public static string Readable(string snippet) => Spaces().Replace(MarkdownMarks().Replace(snippet, ""), " ").Trim();

    [GeneratedRegex(@"\*{1,3}|`+|(?<=^|\s)#{1,6}(?=\s)|(?<=^|\s)>(?=\s)")]
    private static partial Regex MarkdownMarks();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
