using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Unit;

public sealed class SearchQueryTests
{
    [Theory]
    [InlineData("Redis", new[] { "redis" })]
    [InlineData("  redis   STOP redis ", new[] { "redis", "stop" })]
    [InlineData("\"near\" OR (x*) AND y:*", new[] { "near", "or", "x", "and", "y" })]
    [InlineData("café naïve", new[] { "café", "naïve" })]
    [InlineData("chat-portal v2", new[] { "chat", "portal", "v2" })]
    public void OnlyRunsOfLettersAndDigitsBecomeWords(string text, string[] words)
    {
        Assert.True(SearchQuery.TryParse(text, out var query, out var problem), problem);

        Assert.Equal(words, query!.Words);
    }

    [Fact]
    public void EachProviderGetsEveryWordAsARequiredPrefix()
    {
        Assert.True(SearchQuery.TryParse("Redis \"stop\"", out var query, out _));

        Assert.Equal("\"redis\"* \"stop\"*", query!.ToFts5());
        Assert.Equal("redis:* & stop:*", query.ToTsQuery());
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("   \t", "empty")]
    [InlineData("!!! ??? ***", "no words")]
    [InlineData("a b c d e f g h i j k l m", "more than 12 words")]
    public void UnsearchableInputSaysWhy(string? text, string reason)
    {
        Assert.False(SearchQuery.TryParse(text, out var query, out var problem));

        Assert.Null(query);
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void ASearchLongerThanTheLimitIsRefused()
    {
        Assert.True(SearchQuery.TryParse(new string('a', SearchQuery.MaxLength), out _, out _));
        Assert.False(SearchQuery.TryParse(new string('a', SearchQuery.MaxLength + 1), out _, out var problem));
        Assert.Contains("longer than 200", problem);
    }

    [Theory]
    [InlineData("Good question about **How do I \u0002stop\u0003 a running**. There", "Good question about How do I \u0002stop\u0003 a running. There")]
    [InlineData("## Heading\n\nUse `\u0002fencing\u0003_token` here", "Heading Use \u0002fencing\u0003_token here")]
    [InlineData("> quoted *text*\r\n- item #1", "quoted text - item #1")]
    public void ASnippetReadsAsPlainTextWithItsMarkersKept(string snippet, string expected)
    {
        Assert.Equal(expected, SearchSnippet.Readable(snippet));
    }

    [Fact]
    public void ASnippetSplitsIntoTextAndMarkedWords()
    {
        var snippet = $"…keep a {SearchSnippet.Start}fencing{SearchSnippet.End} token in the {SearchSnippet.Start}database{SearchSnippet.End}";

        Assert.Equal(
            [("…keep a ", false), ("fencing", true), (" token in the ", false), ("database", true)],
            SearchSnippet.Parts(snippet));
        Assert.Equal("…keep a fencing token in the database", SearchSnippet.Plain(snippet));
    }
}
