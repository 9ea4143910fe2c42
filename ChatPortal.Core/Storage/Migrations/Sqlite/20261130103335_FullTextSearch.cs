using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatPortal.Core.Storage.Migrations.Sqlite
{
    /// <summary>
    /// Full-text search on SQLite: FTS5 indexes of message text and conversation titles, kept in step with their
    /// tables by triggers (every insert, delete and update of the text, whichever code writes it). Each index row is
    /// tied to its message or conversation through a small table whose INTEGER PRIMARY KEY is the index's rowid: the
    /// implicit rowid of a table keyed by text may change on VACUUM, this one cannot. None of it is in the EF model:
    /// only the search query reads it.
    /// </summary>
    public partial class FullTextSearch : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE VIRTUAL TABLE messages_fts USING fts5(content, tokenize = 'unicode61 remove_diacritics 2');
                CREATE TABLE messages_fts_rows (
                    fts_rowid INTEGER PRIMARY KEY,
                    message_id TEXT NOT NULL UNIQUE,
                    conversation_id TEXT NOT NULL);
                CREATE INDEX ix_messages_fts_rows_conversation_id ON messages_fts_rows (conversation_id);

                CREATE VIRTUAL TABLE conversations_fts USING fts5(title, tokenize = 'unicode61 remove_diacritics 2');
                CREATE TABLE conversations_fts_rows (
                    fts_rowid INTEGER PRIMARY KEY,
                    conversation_id TEXT NOT NULL UNIQUE);

                INSERT INTO messages_fts_rows (message_id, conversation_id) SELECT id, conversation_id FROM messages;
                INSERT INTO messages_fts (rowid, content) SELECT r.fts_rowid, m.content FROM messages_fts_rows r JOIN messages m ON m.id = r.message_id;
                INSERT INTO conversations_fts_rows (conversation_id) SELECT id FROM conversations;
                INSERT INTO conversations_fts (rowid, title) SELECT r.fts_rowid, c.title FROM conversations_fts_rows r JOIN conversations c ON c.id = r.conversation_id;

                CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
                    INSERT INTO messages_fts_rows (message_id, conversation_id) VALUES (new.id, new.conversation_id);
                    INSERT INTO messages_fts (rowid, content) VALUES (last_insert_rowid(), new.content);
                END;
                CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
                    DELETE FROM messages_fts WHERE rowid = (SELECT fts_rowid FROM messages_fts_rows WHERE message_id = old.id);
                    DELETE FROM messages_fts_rows WHERE message_id = old.id;
                END;
                CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
                    UPDATE messages_fts SET content = new.content WHERE rowid = (SELECT fts_rowid FROM messages_fts_rows WHERE message_id = old.id);
                END;

                CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
                    INSERT INTO conversations_fts_rows (conversation_id) VALUES (new.id);
                    INSERT INTO conversations_fts (rowid, title) VALUES (last_insert_rowid(), new.title);
                END;
                CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
                    DELETE FROM conversations_fts WHERE rowid = (SELECT fts_rowid FROM conversations_fts_rows WHERE conversation_id = old.id);
                    DELETE FROM conversations_fts_rows WHERE conversation_id = old.id;
                END;
                CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
                    UPDATE conversations_fts SET title = new.title WHERE rowid = (SELECT fts_rowid FROM conversations_fts_rows WHERE conversation_id = old.id);
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS conversations_fts_update;
                DROP TRIGGER IF EXISTS conversations_fts_delete;
                DROP TRIGGER IF EXISTS conversations_fts_insert;
                DROP TRIGGER IF EXISTS messages_fts_update;
                DROP TRIGGER IF EXISTS messages_fts_delete;
                DROP TRIGGER IF EXISTS messages_fts_insert;
                DROP TABLE IF EXISTS conversations_fts_rows;
                DROP TABLE IF EXISTS conversations_fts;
                DROP TABLE IF EXISTS messages_fts_rows;
                DROP TABLE IF EXISTS messages_fts;
                """);
        }
    }
}
