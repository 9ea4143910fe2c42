using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace ChatPortal.Core.Storage;

/// <summary>
/// The end of an answer on PostgreSQL in one statement: release the claim only if it is still this answer's
/// (fenced), take the next version, make the answer the end of the branch on screen, and insert it at that version
/// with its row of the usage ledger. Data-modifying CTEs run atomically as one statement in its own transaction; when
/// the claim is gone, nothing is inserted and no row comes back.
/// </summary>
internal static class PostgresCommit
{
    private const string Sql = """
        WITH released AS (
          UPDATE conversations
          SET active_task_id = NULL, active_instance_id = NULL, active_node = NULL, active_since = NULL,
              cancel_requested = FALSE, version = version + 1, updated_at = @now, leaf_id = @task
          WHERE id = @conversation AND active_task_id = @task AND fence = @fence
          RETURNING version, history_epoch, user_id),
        inserted AS (
          INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, status, error, tokens, node, created_at,
                                model_id, input_tokens, output_tokens, usage_estimated, first_token_ms, tokens_per_second)
          SELECT @task, @conversation, @parent, released.version, 'Assistant', @content, @status, @error, @tokens, @node, @created,
                 @model, @input, @output, @estimated, @first_token_ms, @tokens_per_second
          FROM released),
        ledger AS (
          INSERT INTO answer_usage (id, user_id, conversation_id, model_id, day, created_at, status, input_tokens, output_tokens, estimated)
          SELECT @task, released.user_id, @conversation, @model, @day, @now, @status, COALESCE(@input, 0), COALESCE(@output, 0), @ledger_estimated
          FROM released)
        SELECT version AS version, history_epoch AS epoch FROM released
        """;

    public static async Task<(long Epoch, long Version, ChatMessage Message)?> RunAsync(ChatPortalDbContext db, AnswerCommit commit, DateTime now, CancellationToken cancellationToken)
    {
        var answer = commit.Answer;
        var created = answer.CreatedAt == default ? now : answer.CreatedAt.UtcDateTime;
        NpgsqlParameter[] parameters =
        [
            new("now", NpgsqlDbType.TimestampTz) { Value = now },
            new("conversation", NpgsqlDbType.Varchar) { Value = commit.ConversationId },
            new("task", NpgsqlDbType.Varchar) { Value = commit.TaskId },
            new("fence", NpgsqlDbType.Bigint) { Value = commit.Fence },
            new("parent", NpgsqlDbType.Varchar) { Value = (object?)answer.ParentId ?? DBNull.Value },
            new("content", NpgsqlDbType.Text) { Value = answer.Content },
            new("status", NpgsqlDbType.Varchar) { Value = answer.Status.ToString() },
            new("error", NpgsqlDbType.Text) { Value = (object?)answer.Error ?? DBNull.Value },
            new("tokens", NpgsqlDbType.Integer) { Value = answer.Tokens },
            new("node", NpgsqlDbType.Varchar) { Value = (object?)answer.Node ?? DBNull.Value },
            new("created", NpgsqlDbType.TimestampTz) { Value = created },
            new("model", NpgsqlDbType.Varchar) { Value = (object?)answer.ModelId ?? DBNull.Value },
            new("input", NpgsqlDbType.Integer) { Value = (object?)answer.Usage?.InputTokens ?? DBNull.Value },
            new("output", NpgsqlDbType.Integer) { Value = (object?)answer.Usage?.OutputTokens ?? DBNull.Value },
            new("estimated", NpgsqlDbType.Boolean) { Value = answer.Usage?.Estimated ?? false },
            new("ledger_estimated", NpgsqlDbType.Boolean) { Value = answer.Usage?.Estimated ?? true },
            new("first_token_ms", NpgsqlDbType.Integer) { Value = (object?)answer.Usage?.FirstTokenMs ?? DBNull.Value },
            new("tokens_per_second", NpgsqlDbType.Double) { Value = (object?)answer.Usage?.TokensPerSecond ?? DBNull.Value },
            new("day", NpgsqlDbType.Date) { Value = DateOnly.FromDateTime(now) },
        ];

        var rows = await db.Database.SqlQueryRaw<CommitRow>(Sql, parameters).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            return null;
        }

        var message = new ChatMessage(commit.TaskId, ChatRole.Assistant, answer.Content, answer.Status,
            new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)), answer.Error, answer.Tokens, answer.Node, answer.ParentId,
            answer.ModelId, answer.Usage);
        return (rows[0].Epoch, rows[0].Version, message);
    }

    private const string CancelSql = """
        UPDATE conversations SET cancel_requested = TRUE
        WHERE id = @conversation AND active_task_id = @task AND (@user IS NULL OR user_id = @user)
        RETURNING id, user_id, active_task_id, active_node, active_instance_id, active_since, updated_at, fence
        """;

    /// <summary>Records a Stop for a running answer and returns its claim, in one statement; null when it does not run (or is not the user's).</summary>
    public static async Task<ActiveAnswer?> RequestCancelAsync(ChatPortalDbContext db, string taskId, string conversationId, string? userId, CancellationToken cancellationToken)
    {
        NpgsqlParameter[] parameters =
        [
            new("conversation", NpgsqlDbType.Varchar) { Value = conversationId },
            new("task", NpgsqlDbType.Varchar) { Value = taskId },
            new("user", NpgsqlDbType.Varchar) { Value = (object?)userId ?? DBNull.Value },
        ];
        var rows = await db.Database.SqlQueryRaw<CancelRow>(CancelSql, parameters).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            return null;
        }

        var row = rows[0];
        return new ActiveAnswer(row.ActiveTaskId!, row.Id, row.UserId, row.ActiveNode ?? "", row.ActiveInstanceId ?? "",
            new DateTimeOffset(DateTime.SpecifyKind(row.ActiveSince ?? row.UpdatedAt, DateTimeKind.Utc)), row.Fence, CancelRequested: true);
    }

    internal sealed class CancelRow
    {
        public string Id { get; set; } = "";

        public string UserId { get; set; } = "";

        public string? ActiveTaskId { get; set; }

        public string? ActiveNode { get; set; }

        public string? ActiveInstanceId { get; set; }

        public DateTime? ActiveSince { get; set; }

        public DateTime UpdatedAt { get; set; }

        public long Fence { get; set; }
    }

    /// <summary>The one row the statement answers (column names follow the snake_case convention).</summary>
    internal sealed class CommitRow
    {
        public long Version { get; set; }

        public long Epoch { get; set; }
    }
}
