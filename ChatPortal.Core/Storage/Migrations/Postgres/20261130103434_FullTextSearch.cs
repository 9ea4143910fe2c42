using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatPortal.Core.Storage.Migrations.Postgres
{
    /// <summary>
    /// Full-text search on PostgreSQL: a stored generated <c>tsvector</c> of each message's text and each conversation's
    /// title (the <c>simple</c> configuration: every word as written, lower-cased, no stemming, as SQLite's index does),
    /// each with a GIN index. The database keeps them in step with the text by itself. They are not in the EF model, so
    /// reads of messages never carry them; only the search query reads them.
    /// </summary>
    public partial class FullTextSearch : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED;
                CREATE INDEX ix_messages_search_vector ON messages USING GIN (search_vector);
                ALTER TABLE conversations ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED;
                CREATE INDEX ix_conversations_search_vector ON conversations USING GIN (search_vector);
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP INDEX IF EXISTS ix_conversations_search_vector;
                ALTER TABLE conversations DROP COLUMN IF EXISTS search_vector;
                DROP INDEX IF EXISTS ix_messages_search_vector;
                ALTER TABLE messages DROP COLUMN IF EXISTS search_vector;
                """);
        }
    }
}
