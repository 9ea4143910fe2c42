using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Tests.Storage;

/// <summary>Full-text search by the database's own index (SQLite FTS5, PostgreSQL tsvector), kept in step with every write.</summary>
public abstract partial class ConversationStoreContract
{
    [Fact]
    public async Task SearchFindsTitlesAndMessageTextByWordPrefixesInTheUsersLiveConversationsOnly()
    {
        var (user, other) = (NewUser(), NewUser());
        var redis = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(redis, user, "Redis pub/sub questions", "Push the Stop on one channel and keep a fencing token in the database.");
        var locks = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(locks, user, "How do nodes migrate at once?", "They take PostgreSQL advisory locks for the whole run.");
        var gone = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(gone, user, "Redis persistence", "Append-only files.");
        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, gone));
        var theirs = (await Store.CreateAsync(other)).Id;
        await AnswerAsync(theirs, other, "Redis for someone else", "Not yours.");

        var byTitle = Assert.Single(await SearchAsync(user, "REDIS"));
        Assert.Equal((redis, "Redis pub/sub questions", true), (byTitle.Id, byTitle.Title, byTitle.TitleMatches));

        var byText = Assert.Single(await SearchAsync(user, "fenc"));
        Assert.Equal(redis, byText.Id);
        Assert.False(byText.TitleMatches);
        Assert.Contains($"{SearchSnippet.Start}fencing{SearchSnippet.End}", byText.Snippet);
        Assert.Contains("fencing token", SearchSnippet.Plain(byText.Snippet!));

        // Every word must match (prefixes: "lock" finds "locks"), in any order, within the title or within one message.
        Assert.Equal([locks], (await SearchAsync(user, "lock advisory")).Select(m => m.Id));
        Assert.Equal([locks], (await SearchAsync(user, "migrate nodes")).Select(m => m.Id));
        Assert.Empty(await SearchAsync(user, "nodes PostgreSQL"));
        Assert.Empty(await SearchAsync(user, "redis advisory"));
        Assert.Empty(await SearchAsync(user, "persistence"));
        Assert.Empty(await SearchAsync(other, "fencing"));

        // A restored conversation is found again.
        Assert.NotNull(await Store.RestoreAsync(user, gone));
        Assert.Equal(new[] { redis, gone }.Order(), (await SearchAsync(user, "redis")).Select(m => m.Id).Order());
    }

    [Fact]
    public async Task TitleMatchesComeFirstThenTheMostRecentlyUpdated()
    {
        var user = NewUser();
        var oldTitle = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(oldTitle, user, "Kestrel tuning", "Threads.");
        var olderText = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(olderText, user, "Servers", "Kestrel first.");
        var newerText = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(newerText, user, "Hosting", "Behind nginx, Kestrel.");

        var hits = await SearchAsync(user, "kestrel");

        Assert.Equal([oldTitle, newerText, olderText], hits.Select(h => h.Id));
        Assert.Equal([true, false, false], hits.Select(h => h.TitleMatches));
        Assert.Equal(2, (await Store.SearchAsync(user, Query("kestrel"), limit: 2)).Count);
    }

    [Fact]
    public async Task TheIndexFollowsRenamesClearsAndThePurge()
    {
        var user = NewUser();
        var id = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(id, user, "Quarterly numbers", "Revenue grew in the spring.");
        Assert.Single(await SearchAsync(user, "quarterly"));

        await Store.RenameAsync(user, id, "Board meeting notes");
        Assert.False(Assert.Single(await SearchAsync(user, "quarterly")).TitleMatches); // still the first question's text
        Assert.True(Assert.Single(await SearchAsync(user, "board meeting")).TitleMatches);
        Assert.Equal([id], (await SearchAsync(user, "revenue")).Select(h => h.Id));

        Assert.Equal(HistoryChange.Done, await Store.ClearAsync(user, id));
        Assert.Empty(await SearchAsync(user, "revenue"));
        Assert.Empty(await SearchAsync(user, "board")); // clearing also gives the default title back

        await AnswerAsync(id, user, "Spring planning", "Start in March.");
        Assert.Equal([id], (await SearchAsync(user, "march")).Select(h => h.Id));

        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, id));
        await using (var db = await Node.Contexts.CreateDbContextAsync())
        {
            await db.Conversations.Where(c => c.Id == id).ExecuteUpdateAsync(s => s.SetProperty(c => c.DeletedAt, c => DateTime.UtcNow.AddMinutes(-5)));
        }

        await Node.Database.PurgeDeletedAsync(ConversationDeletion.PurgeAfter);
        Assert.Null(await Store.RestoreAsync(user, id));
        Assert.Empty(await SearchAsync(user, "march"));
    }

    [Fact]
    public async Task SearchSyntaxInTheInputIsOnlyWords()
    {
        var user = NewUser();
        var id = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(id, user, "NEAR the OR operator", "Quotes \" and stars * are text.");

        // Each of these would be query syntax (or an error) if it reached FTS5 or to_tsquery as typed.
        foreach (var typed in new[] { "\"near", "OR*", "near(operator", "operator:*", "'or' & !near", "quotes\" OR \"x", "AND NOT", "stars)" })
        {
            var hits = await SearchAsync(user, typed);
            var words = SearchQueryWords(typed);
            Assert.True(hits.Count <= 1, typed);
            Assert.Equal(words.All(w => "near the or operator quotes and stars are text".Split(' ').Any(t => t.StartsWith(w, StringComparison.Ordinal))), hits.Count == 1);
        }
    }

    private static IReadOnlyList<string> SearchQueryWords(string text) => Query(text).Words;

    private static SearchQuery Query(string text) =>
        SearchQuery.TryParse(text, out var query, out var problem) ? query! : throw new Xunit.Sdk.XunitException(problem);

    private Task<IReadOnlyList<ConversationMatch>> SearchAsync(string user, string text) => Store.SearchAsync(user, Query(text), limit: 50);
}
