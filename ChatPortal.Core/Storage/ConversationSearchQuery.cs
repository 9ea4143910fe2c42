using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// Full-text search of one user's live conversations, by title and by message text, in the database's own index
/// (SQLite FTS5, PostgreSQL <c>tsvector</c>; both built by the FullTextSearch migration). Title matches first, then the
/// most recently updated; each hit carries a snippet of its newest matching message, matched words marked by
/// <see cref="SearchSnippet"/>. One statement.
/// </summary>
internal static class ConversationSearchQuery
{
    public static async Task<IReadOnlyList<ConversationMatch>> RunAsync(ChatPortalDbContext db, string userId, SearchQuery query, int limit, CancellationToken cancellationToken)
    {
        var rows = db.Database.IsNpgsql()
            ? await db.Database.SqlQuery<Row>(Postgres(userId, query.ToTsQuery(), limit)).ToListAsync(cancellationToken).ConfigureAwait(false)
            : await db.Database.SqlQuery<Row>(Sqlite(userId, query.ToFts5(), limit)).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(r => new ConversationMatch(r.Id, r.Title, new DateTimeOffset(DateTime.SpecifyKind(r.UpdatedAt, DateTimeKind.Utc)), r.TitleMatches,
            r.Snippet is null ? null : SearchSnippet.Readable(r.Snippet)))];
    }

    private static FormattableString Sqlite(string userId, string match, int limit) => $"""
        WITH
        title_hits AS (
            SELECT r.conversation_id
            FROM conversations_fts JOIN conversations_fts_rows r ON r.fts_rowid = conversations_fts.rowid
            WHERE conversations_fts MATCH {match}),
        message_hits AS MATERIALIZED (
            SELECT r.conversation_id, m.seq, snippet(messages_fts, 0, char(2), char(3), '…', 14) AS snippet
            FROM messages_fts
            JOIN messages_fts_rows r ON r.fts_rowid = messages_fts.rowid
            JOIN messages m ON m.id = r.message_id
            JOIN conversations c ON c.id = r.conversation_id AND c.user_id = {userId} AND c.deleted_at IS NULL
            WHERE messages_fts MATCH {match})
        SELECT c.id, c.title, c.updated_at,
            EXISTS (SELECT 1 FROM title_hits t WHERE t.conversation_id = c.id) AS title_matches,
            (SELECT h.snippet FROM message_hits h WHERE h.conversation_id = c.id ORDER BY h.seq DESC LIMIT 1) AS snippet
        FROM conversations c
        WHERE c.user_id = {userId} AND c.deleted_at IS NULL
            AND (c.id IN (SELECT conversation_id FROM title_hits) OR c.id IN (SELECT conversation_id FROM message_hits))
        ORDER BY title_matches DESC, c.updated_at DESC, c.id DESC
        LIMIT {limit}
        """;

    private static FormattableString Postgres(string userId, string tsQuery, int limit) => $"""
        WITH q AS (SELECT to_tsquery('simple', {tsQuery}) AS query)
        SELECT c.id, c.title, c.updated_at,
            (c.search_vector @@ q.query) AS title_matches,
            (SELECT ts_headline('simple', m.content, q.query, {HeadlineOptions})
             FROM messages m
             WHERE m.conversation_id = c.id AND m.search_vector @@ q.query
             ORDER BY m.seq DESC LIMIT 1) AS snippet
        FROM conversations c CROSS JOIN q
        WHERE c.user_id = {userId} AND c.deleted_at IS NULL
            AND (c.search_vector @@ q.query
                 OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.search_vector @@ q.query))
        ORDER BY title_matches DESC, c.updated_at DESC, c.id DESC
        LIMIT {limit}
        """;

    /// <summary>One fragment of about the length SQLite's snippet gives, the matched words between the markers.</summary>
    private static readonly string HeadlineOptions =
        $"StartSel=\"{SearchSnippet.Start}\", StopSel=\"{SearchSnippet.End}\", MaxWords=18, MinWords=8, MaxFragments=1, FragmentDelimiter=\"…\"";

    /// <summary>One hit (column names follow the snake_case convention).</summary>
    internal sealed class Row
    {
        public string Id { get; set; } = "";

        public string Title { get; set; } = "";

        public DateTime UpdatedAt { get; set; }

        public bool TitleMatches { get; set; }

        public string? Snippet { get; set; }
    }
}
