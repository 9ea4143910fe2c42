using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace ChatPortal.Core.Storage;

/// <summary>
/// The start of an answer to a new question on PostgreSQL in one round trip: one batch of statements that the server
/// runs in order, in one transaction. The user's row is locked first (it serialises this user's starts, so the answer
/// limit and the daily quota are exact), then one statement claims the conversation only if no answer runs in it, the
/// user's other running answers leave room and the quota is not used up, and inserts the question under the end of the
/// branch on screen (or beside the question it is a new version of); the question becomes the end of the branch. In
/// READ COMMITTED each statement sees what committed before it began, so the claim's checks see every start this user
/// made before the lock was granted. When a check fails nothing but the user's last-active time changes, and the
/// outcome is worked out afterwards from the row the batch returns.
/// </summary>
internal static class PostgresStart
{
    /// <summary>The statements of the batch (BEGIN and COMMIT aside), for the statement counter.</summary>
    public const int Statements = 4;

    private const string LockUser = "UPDATE users SET last_active_at = @now WHERE id = @user";

    // The parent comes from the claimed row's RETURNING (its leaf as the UPDATE found it, after any commit it waited
    // for), never from the statement's snapshot: an answer that ended while this claim waited on the row lock moved
    // the leaf to itself.
    private const string Claim = """
        WITH usage_today AS (
          SELECT COALESCE(SUM(input_tokens::bigint + output_tokens), 0)::bigint AS used
          FROM answer_usage WHERE @quota > 0 AND user_id = @user AND day = @day),
        others AS (
          SELECT count(*) AS running FROM conversations
          WHERE user_id = @user AND active_task_id IS NOT NULL AND id <> @conversation),
        claimed AS (
          UPDATE conversations c
          SET active_task_id = @task, active_instance_id = @instance, active_node = @node, active_since = @since,
              fence = c.fence + 1, cancel_requested = FALSE, model_id = COALESCE(@model, c.model_id),
              version = c.version + 1, updated_at = @now,
              title = CASE WHEN c.title = @default_title THEN @title ELSE c.title END
          WHERE c.id = @conversation AND c.user_id = @user AND c.active_task_id IS NULL AND c.deleted_at IS NULL
            AND (SELECT running FROM others) < @max
            AND (@quota <= 0 OR (SELECT used FROM usage_today) < @quota)
            AND (@branch_from IS NULL OR EXISTS (
              SELECT 1 FROM messages e WHERE e.id = @branch_from AND e.conversation_id = @conversation AND e.role = 'User'))
          RETURNING c.version, c.history_epoch, c.fence, c.instructions, c.model_id,
            CASE WHEN @branch_from IS NULL
              THEN COALESCE(c.leaf_id, (SELECT n.id FROM messages n WHERE n.conversation_id = @conversation ORDER BY n.seq DESC LIMIT 1))
              ELSE (SELECT e.parent_id FROM messages e WHERE e.id = @branch_from AND e.conversation_id = @conversation)
            END AS parent_id),
        question AS (
          INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, status, tokens, created_at, usage_estimated)
          SELECT @question_id, @conversation, claimed.parent_id, claimed.version, 'User', @question, 'Completed', 0, @now, FALSE
          FROM claimed)
        SELECT claimed.version, claimed.history_epoch, claimed.fence, claimed.instructions, claimed.model_id, claimed.parent_id,
               (claimed.version IS NOT NULL) AS claimed,
               (SELECT used FROM usage_today) AS used, (SELECT running FROM others) AS running
        FROM (SELECT 1) AS one LEFT JOIN claimed ON TRUE
        """;

    // A second statement: one statement may not update the row it claimed twice.
    private const string MoveLeaf = "UPDATE conversations SET leaf_id = @question_id WHERE id = @conversation AND active_task_id = @task";

    // The history the prompt is built from, newer than what this node holds in its cache (all of it on a miss), read
    // under the claim in the same round trip; nothing when the claim failed.
    private const string History = """
        SELECT m.id, m.role, m.content, m.status, m.created_at, m.error, m.tokens, m.node, m.parent_id, m.model_id,
               m.input_tokens, m.output_tokens, m.usage_estimated, m.first_token_ms, m.tokens_per_second
        FROM messages m
        WHERE m.conversation_id = @conversation AND m.seq > @from
          AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = @conversation AND c.active_task_id = @task)
        ORDER BY m.seq
        """;

    /// <summary>
    /// What the batch found: <see cref="Claimed"/>, or why not (the caller looks closer when not). <see cref="Newer"/>:
    /// the conversation's messages after version <c>from</c> (the question included), in order.
    /// </summary>
    public sealed record Outcome(bool UserFound, bool Claimed, long Version, long Epoch, long Fence, string? Instructions, string? ModelId,
        string? ParentId, long UsedToday, long Running, IReadOnlyList<ChatMessage> Newer);

    /// <param name="from">The version this node's cache holds the conversation at (0: nothing cached): only newer messages are read.</param>
    public static async Task<Outcome> RunAsync(ChatPortalDbContext db, AnswerStart start, string questionId, string title, DateTime now, long from, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            batch.BatchCommands.Add(Command(LockUser, Now(now), User(start)));
            batch.BatchCommands.Add(Command(Claim,
                Now(now), User(start),
                new NpgsqlParameter("conversation", NpgsqlDbType.Varchar) { Value = start.ConversationId },
                new NpgsqlParameter("task", NpgsqlDbType.Varchar) { Value = start.TaskId },
                new NpgsqlParameter("instance", NpgsqlDbType.Varchar) { Value = start.Instance },
                new NpgsqlParameter("node", NpgsqlDbType.Varchar) { Value = start.Node },
                new NpgsqlParameter("since", NpgsqlDbType.TimestampTz) { Value = start.StartedAt.UtcDateTime },
                new NpgsqlParameter("model", NpgsqlDbType.Varchar) { Value = (object?)start.ModelId ?? DBNull.Value },
                new NpgsqlParameter("default_title", NpgsqlDbType.Varchar) { Value = Conversation.DefaultTitle },
                new NpgsqlParameter("title", NpgsqlDbType.Varchar) { Value = title },
                new NpgsqlParameter("max", NpgsqlDbType.Bigint) { Value = (long)start.MaxConcurrentAnswers },
                new NpgsqlParameter("quota", NpgsqlDbType.Bigint) { Value = start.TokensPerDay },
                new NpgsqlParameter("day", NpgsqlDbType.Date) { Value = DateOnly.FromDateTime(start.StartedAt.UtcDateTime) },
                new NpgsqlParameter("branch_from", NpgsqlDbType.Varchar) { Value = (object?)start.BranchFrom ?? DBNull.Value },
                new NpgsqlParameter("question_id", NpgsqlDbType.Varchar) { Value = questionId },
                new NpgsqlParameter("question", NpgsqlDbType.Text) { Value = start.Question! }));
            batch.BatchCommands.Add(Command(MoveLeaf,
                new NpgsqlParameter("question_id", NpgsqlDbType.Varchar) { Value = questionId },
                new NpgsqlParameter("conversation", NpgsqlDbType.Varchar) { Value = start.ConversationId },
                new NpgsqlParameter("task", NpgsqlDbType.Varchar) { Value = start.TaskId }));
            batch.BatchCommands.Add(Command(History,
                new NpgsqlParameter("conversation", NpgsqlDbType.Varchar) { Value = start.ConversationId },
                new NpgsqlParameter("task", NpgsqlDbType.Varchar) { Value = start.TaskId },
                new NpgsqlParameter("from", NpgsqlDbType.Bigint) { Value = from }));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

            Outcome? outcome = null;
            var newer = new List<ChatMessage>();
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                // Two statements return rows: the claim (one row), then the history.
                do
                {
                    if (reader.FieldCount == 0)
                    {
                        continue;
                    }

                    if (outcome is not null)
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            newer.Add(ReadMessage(reader));
                        }

                        continue;
                    }

                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var claimed = reader.GetBoolean(6);
                    outcome = new Outcome(
                        UserFound: true,
                        Claimed: claimed,
                        Version: claimed ? reader.GetInt64(0) : 0,
                        Epoch: claimed ? reader.GetInt64(1) : 0,
                        Fence: claimed ? reader.GetInt64(2) : 0,
                        Instructions: claimed && !reader.IsDBNull(3) ? reader.GetString(3) : null,
                        ModelId: claimed && !reader.IsDBNull(4) ? reader.GetString(4) : null,
                        ParentId: claimed && !reader.IsDBNull(5) ? reader.GetString(5) : null,
                        UsedToday: reader.GetInt64(7),
                        Running: reader.GetInt64(8),
                        Newer: newer);
                }
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
            }

            if (outcome is null)
            {
                throw new InvalidOperationException("The start batch returned no claim row.");
            }

            return outcome with { UserFound = batch.BatchCommands[1].RecordsAffected > 0 };
        }
        catch
        {
            // A statement that failed leaves the transaction aborted on this connection: end it before the pool reuses it.
            await RollBackQuietlyAsync(connection).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private static ChatMessage ReadMessage(NpgsqlDataReader r)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        int? Number(int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
        var record = new MessageRecord
        {
            Id = r.GetString(0),
            ConversationId = "",
            Role = Enum.Parse<ChatRole>(r.GetString(1)),
            Content = r.GetString(2),
            Status = Enum.Parse<MessageStatus>(r.GetString(3)),
            CreatedAt = r.GetDateTime(4),
            Error = Text(5),
            Tokens = r.GetInt32(6),
            Node = Text(7),
            ParentId = Text(8),
            ModelId = Text(9),
            InputTokens = Number(10),
            OutputTokens = Number(11),
            UsageEstimated = r.GetBoolean(12),
            FirstTokenMs = Number(13),
            TokensPerSecond = r.IsDBNull(14) ? null : r.GetDouble(14),
        };
        return DatabaseConversationStore.ToMessage(record);
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Now(DateTime now) => new("now", NpgsqlDbType.TimestampTz) { Value = now };

    private static NpgsqlParameter User(AnswerStart start) => new("user", NpgsqlDbType.Varchar) { Value = start.UserId };

    private static async Task RollBackQuietlyAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // The connection is broken: the server ends the transaction with the session.
        }
    }
}
