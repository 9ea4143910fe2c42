using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Core.Storage;

/// <summary>
/// The conversation store on EF Core (SQLite or PostgreSQL). Claims are conditional updates of the
/// conversation row; an answer's commit is conditional on the claim it started with (fencing). Two
/// transactions per answer (start, end), none per chunk.
/// </summary>
public sealed class DatabaseConversationStore(
    IDbContextFactory<ChatPortalDbContext> contexts,
    ConversationCache cache,
    DatabaseHealth health,
    TimeProvider time,
    DbStatementCounter? statements = null) : IConversationStore
{
    public Task<ConversationSummary> CreateAsync(string userId, CancellationToken cancellationToken = default) =>
        RunAsync("Creating a conversation", async db =>
        {
            var now = Now();
            await EnsureUserAsync(db, userId, now, cancellationToken).ConfigureAwait(false);
            var record = new ConversationRecord { Id = Ids.NewConversationId(), UserId = userId, Title = Conversation.DefaultTitle, CreatedAt = now, UpdatedAt = now };
            db.Conversations.Add(record);
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            return new ConversationSummary(record.Id, record.Title, Utc(now));
        }, cancellationToken);

    public Task<Conversation?> FindAsync(string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("Reading a conversation", async db =>
        {
            var row = await db.Conversations.AsNoTracking()
                .Where(c => c.Id == conversationId && c.DeletedAt == null)
                .Select(c => new { c.UserId, c.Title, c.CreatedAt, c.UpdatedAt, c.Version, c.HistoryEpoch, c.LeafId, c.ModelId, c.Instructions })
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }

            var tree = new ConversationTree(await HistoryAsync(db, conversationId, row.HistoryEpoch, row.Version, cancellationToken).ConfigureAwait(false));
            return new Conversation(conversationId, row.UserId, row.Title, Utc(row.CreatedAt), Utc(row.UpdatedAt), tree.PathTo(row.LeafId), row.ModelId, row.Instructions)
            {
                Tree = tree,
            };
        }, cancellationToken);

    public Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<ConversationSummary>>("Listing conversations", async db =>
        {
            var rows = await db.Conversations.AsNoTracking()
                .Where(c => c.UserId == userId && c.DeletedAt == null)
                .OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id)
                .Select(c => new { c.Id, c.Title, c.UpdatedAt })
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            return rows.Select(r => new ConversationSummary(r.Id, r.Title, Utc(r.UpdatedAt))).ToList();
        }, cancellationToken);

    public Task<ConversationPage> ListPageAsync(string userId, int limit, ConversationCursor? after = null, CancellationToken cancellationToken = default) =>
        RunAsync("Listing conversations", async db =>
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
            var query = db.Conversations.AsNoTracking().Where(c => c.UserId == userId && c.DeletedAt == null);
            if (after is not null)
            {
                // Keyset paging in the list's order (updated, then id): a page is one index range, however deep.
                var (at, id) = (after.UpdatedAt.UtcDateTime, after.Id);
                query = query.Where(c => c.UpdatedAt < at || (c.UpdatedAt == at && string.Compare(c.Id, id) < 0));
            }

            var rows = await query
                .OrderByDescending(c => c.UpdatedAt).ThenByDescending(c => c.Id)
                .Take(limit + 1)
                .Select(c => new { c.Id, c.Title, c.UpdatedAt })
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            var items = rows.Take(limit).Select(r => new ConversationSummary(r.Id, r.Title, Utc(r.UpdatedAt))).ToList();
            return new ConversationPage(items, rows.Count > limit ? ConversationCursor.After(items[^1]) : null);
        }, cancellationToken);

    public Task<HistoryChange> ClearAsync(string userId, string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("Clearing a conversation", async db =>
        {
            var now = Now();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var cleared = await db.Conversations
                .Where(c => c.Id == conversationId && c.UserId == userId && c.ActiveTaskId == null && c.DeletedAt == null)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(c => c.Title, Conversation.DefaultTitle)
                    .SetProperty(c => c.LeafId, (string?)null)
                    .SetProperty(c => c.HistoryEpoch, c => c.HistoryEpoch + 1)
                    .SetProperty(c => c.Version, c => c.Version + 1)
                    .SetProperty(c => c.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
            if (cleared == 0)
            {
                return await WhyNotAsync(db, userId, conversationId, cancellationToken).ConfigureAwait(false);
            }

            await db.Messages.Where(m => m.ConversationId == conversationId).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            cache.Remove(conversationId);
            return HistoryChange.Done;
        }, cancellationToken);

    public Task<HistoryChange> DeleteAsync(string userId, string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("Deleting a conversation", async db =>
        {
            // One conditional update, on the database's clock: the conversation is gone for every reader at once, and
            // the same row lock that claims a conversation decides between this delete and a new answer.
            var deleted = await db.Conversations
                .Where(c => c.Id == conversationId && c.UserId == userId && c.ActiveTaskId == null && c.DeletedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.DeletedAt, c => DateTime.UtcNow), cancellationToken).ConfigureAwait(false);
            if (deleted == 0)
            {
                return await WhyNotAsync(db, userId, conversationId, cancellationToken).ConfigureAwait(false);
            }

            cache.Remove(conversationId);
            return HistoryChange.Done;
        }, cancellationToken);

    public Task<IReadOnlyList<ConversationMatch>> SearchAsync(string userId, SearchQuery query, int limit, CancellationToken cancellationToken = default) =>
        RunAsync("Searching conversations", db => ConversationSearchQuery.RunAsync(db, userId, query, limit, cancellationToken), cancellationToken);

    public Task<ConversationSummary?> RestoreAsync(string userId, string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("Restoring a conversation", async db =>
        {
            var window = -ConversationDeletion.RestoreWindow.TotalSeconds;
            var restored = await db.Conversations
                .Where(c => c.Id == conversationId && c.UserId == userId && c.DeletedAt != null && c.DeletedAt > DateTime.UtcNow.AddSeconds(window))
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.DeletedAt, (DateTime?)null), cancellationToken).ConfigureAwait(false);
            if (restored == 0)
            {
                return null;
            }

            var row = await db.Conversations.AsNoTracking().Where(c => c.Id == conversationId)
                .Select(c => new { c.Title, c.UpdatedAt }).FirstAsync(cancellationToken).ConfigureAwait(false);
            return new ConversationSummary(conversationId, row.Title, Utc(row.UpdatedAt));
        }, cancellationToken);

    /// <summary>
    /// Removes conversations deleted more than <paramref name="olderThan"/> ago (the database's clock) with every message
    /// of theirs, in one transaction: nothing is ever half deleted. Returns how many conversations went.
    /// </summary>
    public Task<int> PurgeDeletedAsync(TimeSpan olderThan, CancellationToken cancellationToken = default) =>
        RunAsync("Purging deleted conversations", async db =>
        {
            var seconds = -olderThan.TotalSeconds;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var due = await db.Conversations.AsNoTracking()
                .Where(c => c.DeletedAt != null && c.DeletedAt < DateTime.UtcNow.AddSeconds(seconds))
                .OrderBy(c => c.DeletedAt).Select(c => c.Id).Take(200)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            if (due.Count == 0)
            {
                return 0;
            }

            // Messages first, in the same transaction: nothing is orphaned, whatever the provider's cascade does.
            await db.Messages.Where(m => due.Contains(m.ConversationId)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            var purged = await db.Conversations.Where(c => due.Contains(c.Id) && c.DeletedAt != null).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var id in due)
            {
                cache.Remove(id);
            }

            return purged;
        }, cancellationToken);

    public Task<ConversationSummary?> RenameAsync(string userId, string conversationId, string title, CancellationToken cancellationToken = default) =>
        RunAsync("Renaming a conversation", async db =>
        {
            var renamed = await db.Conversations
                .Where(c => c.Id == conversationId && c.UserId == userId && c.DeletedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.Title, title), cancellationToken).ConfigureAwait(false);
            if (renamed == 0)
            {
                return null;
            }

            var updatedAt = await db.Conversations.Where(c => c.Id == conversationId).Select(c => c.UpdatedAt).FirstAsync(cancellationToken).ConfigureAwait(false);
            return new ConversationSummary(conversationId, title, Utc(updatedAt));
        }, cancellationToken);

    public Task<bool> SetModelAsync(string userId, string conversationId, string? modelId, CancellationToken cancellationToken = default) =>
        RunAsync("Choosing a model", async db =>
            await db.Conversations.Where(c => c.Id == conversationId && c.UserId == userId && c.DeletedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.ModelId, modelId), cancellationToken).ConfigureAwait(false) > 0,
            cancellationToken);

    public Task<bool> SetInstructionsAsync(string userId, string conversationId, string? instructions, CancellationToken cancellationToken = default) =>
        RunAsync("Setting instructions", async db =>
            await db.Conversations.Where(c => c.Id == conversationId && c.UserId == userId && c.DeletedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.Instructions, instructions), cancellationToken).ConfigureAwait(false) > 0,
            cancellationToken);

    public Task<bool> ReplaceTitleAsync(string conversationId, string expected, string title, CancellationToken cancellationToken = default) =>
        RunAsync("Naming a conversation", async db =>
        {
            var renamed = await db.Conversations.Where(c => c.Id == conversationId && c.Title == expected)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.Title, title), cancellationToken).ConfigureAwait(false) > 0;
            statements?.CountTitleWrite();
            return renamed;
        }, cancellationToken);

    public Task<HistoryChange> SelectBranchAsync(string userId, string conversationId, string messageId, CancellationToken cancellationToken = default) =>
        RunAsync("Switching branch", async db =>
        {
            var row = await db.Conversations.AsNoTracking().Where(c => c.Id == conversationId && c.DeletedAt == null)
                .Select(c => new { c.UserId, c.Version, c.HistoryEpoch, c.ActiveTaskId }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (row is null || row.UserId != userId)
            {
                return HistoryChange.NotFound;
            }

            if (row.ActiveTaskId is not null)
            {
                return HistoryChange.AnswerRunning;
            }

            var tree = new ConversationTree(await HistoryAsync(db, conversationId, row.HistoryEpoch, row.Version, cancellationToken).ConfigureAwait(false));
            if (tree.Find(messageId) is not { } message)
            {
                return HistoryChange.NotFound;
            }

            // Conditional on what was read: no answer started meanwhile (it decides its own branch), no history cleared.
            var leaf = tree.NewestLeafUnder(message).Id;
            var switched = await db.Conversations
                .Where(c => c.Id == conversationId && c.UserId == userId && c.ActiveTaskId == null && c.DeletedAt == null && c.HistoryEpoch == row.HistoryEpoch)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.LeafId, leaf), cancellationToken).ConfigureAwait(false);
            return switched == 1 ? HistoryChange.Done : await WhyNotAsync(db, userId, conversationId, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<AnswerStartResult> StartAnswerAsync(AnswerStart start, CancellationToken cancellationToken = default) =>
        RunAsync("Sending a message", async db =>
        {
            if (start.Question is not null && db.Database.IsNpgsql())
            {
                // The hot path: a new question, in one round trip.
                return await StartOnPostgresAsync(db, start, cancellationToken).ConfigureAwait(false);
            }

            var (taskId, conversationId, userId) = (start.TaskId, start.ConversationId, start.UserId);
            var now = Now();
            var since = start.StartedAt.UtcDateTime;
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // The user's row first: it serialises this user's starts, so the per-user answer limit is exact.
            var user = await db.Users.Where(u => u.Id == userId)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.LastActiveAt, now), cancellationToken).ConfigureAwait(false);
            if (user == 0)
            {
                return new AnswerStartResult(AnswerStartOutcome.ConversationNotFound);
            }

            // The daily quota, under the same row lock: exact against every answer already ended (see Quota in docs/API.md).
            if (start.TokensPerDay > 0)
            {
                var day = DateOnly.FromDateTime(since);
                var used = await UsedOnAsync(db, userId, day, cancellationToken).ConfigureAwait(false);
                if (used >= start.TokensPerDay)
                {
                    return new AnswerStartResult(AnswerStartOutcome.QuotaExceeded, TokensUsedToday: used);
                }
            }

            // The claim: only if no answer runs in the conversation. A question also takes the next version
            // and, for the first question, names the conversation.
            var claimable = db.Conversations.Where(c => c.Id == conversationId && c.UserId == userId && c.ActiveTaskId == null && c.DeletedAt == null);
            var title = start.Question is { } question ? Conversation.TitleFrom(question) : null;
            var claimed = await claimable.ExecuteUpdateAsync(s =>
            {
                s.SetProperty(c => c.ActiveTaskId, taskId)
                    .SetProperty(c => c.ActiveInstanceId, start.Instance)
                    .SetProperty(c => c.ActiveNode, start.Node)
                    .SetProperty(c => c.ActiveSince, since)
                    .SetProperty(c => c.Fence, c => c.Fence + 1)
                    .SetProperty(c => c.CancelRequested, false);
                if (start.ModelId is { } model)
                {
                    s.SetProperty(c => c.ModelId, model);
                }

                if (title is not null)
                {
                    s.SetProperty(c => c.Version, c => c.Version + 1)
                        .SetProperty(c => c.UpdatedAt, now)
                        .SetProperty(c => c.Title, c => c.Title == Conversation.DefaultTitle ? title : c.Title);
                }
            }, cancellationToken).ConfigureAwait(false);

            if (claimed == 0)
            {
                var holder = await ActiveAsync(db.Conversations.Where(c => c.Id == conversationId && c.DeletedAt == null), cancellationToken).ConfigureAwait(false);
                return holder is null || holder.Value.UserId != userId
                    ? new AnswerStartResult(AnswerStartOutcome.ConversationNotFound)
                    : new AnswerStartResult(AnswerStartOutcome.AnswerRunning, Running: holder.Value.Answer);
            }

            // The claimed row's state and the user's running answers (this one included) in one query.
            var state = await db.Conversations.AsNoTracking().Where(c => c.Id == conversationId)
                .Select(c => new
                {
                    c.Version,
                    c.HistoryEpoch,
                    c.Fence,
                    c.Instructions,
                    c.ModelId,
                    c.LeafId,
                    Running = db.Conversations.Count(o => o.UserId == userId && o.ActiveTaskId != null),
                })
                .FirstAsync(cancellationToken).ConfigureAwait(false);
            if (state.Running > start.MaxConcurrentAnswers)
            {
                return new AnswerStartResult(AnswerStartOutcome.TooManyAnswers);
            }

            // The conversation as a tree (every branch, from the cache topped up with newer rows), and the branch on screen.
            var (epoch, version) = (state.HistoryEpoch, state.Version);
            var tree = new ConversationTree(await HistoryAsync(db, conversationId, epoch, start.Question is null ? version : version - 1, cancellationToken).ConfigureAwait(false));
            var leaf = state.LeafId is { } chosen && tree.Find(chosen) is not null ? chosen : tree.NewestId;
            ChatMessage answered;
            if (start.Question is { } text)
            {
                // Under the branch on screen, or beside the question it is a new version of.
                string? parent = leaf;
                if (start.BranchFrom is { } edited)
                {
                    if (tree.Find(edited) is not { Role: ChatRole.User } original)
                    {
                        return new AnswerStartResult(AnswerStartOutcome.MessageNotFound);
                    }

                    parent = original.ParentId;
                }

                var record = new MessageRecord
                {
                    Id = Ids.NewMessageId(),
                    ConversationId = conversationId,
                    ParentId = parent,
                    Seq = version,
                    Role = ChatRole.User,
                    Content = text,
                    Status = MessageStatus.Completed,
                    CreatedAt = now,
                };
                db.Messages.Add(record);
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                answered = ToMessage(record);
                tree = new ConversationTree([.. tree.All, answered]);
            }
            else
            {
                // A new answer beside the given one, or beside the last answer of the branch on screen; nothing is removed.
                var target = start.BranchFrom is { } answerId
                    ? tree.Find(answerId) is { Role: ChatRole.Assistant, ParentId: { } asked } ? tree.Find(asked) : null
                    : tree.PathTo(leaf).LastOrDefault(m => m.Role == ChatRole.User);
                if (target is not { Role: ChatRole.User })
                {
                    return new AnswerStartResult(start.BranchFrom is null ? AnswerStartOutcome.NothingToRegenerate : AnswerStartOutcome.MessageNotFound);
                }

                answered = target;
            }

            // The question is the end of the branch on screen until its answer is stored.
            await db.Conversations.Where(c => c.Id == conversationId)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.LeafId, answered.Id), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            cache.Set(conversationId, new CachedHistory(epoch, version, tree.All));
            return new AnswerStartResult(AnswerStartOutcome.Claimed, state.Fence, tree.PathTo(answered.Id), answered.Id, Instructions: state.Instructions, ModelId: state.ModelId);
        }, cancellationToken);

    private async Task<AnswerStartResult> StartOnPostgresAsync(ChatPortalDbContext db, AnswerStart start, CancellationToken cancellationToken)
    {
        var now = Now();
        var question = new ChatMessage(Ids.NewMessageId(), ChatRole.User, start.Question!, MessageStatus.Completed, Utc(now));
        var cached = cache.Find(start.ConversationId);
        var found = await PostgresStart.RunAsync(db, start, question.Id, Conversation.TitleFrom(start.Question!), now, cached?.Version ?? 0, cancellationToken).ConfigureAwait(false);
        statements?.CountBatch(PostgresStart.Statements);
        if (!found.UserFound)
        {
            return new AnswerStartResult(AnswerStartOutcome.ConversationNotFound);
        }

        if (!found.Claimed)
        {
            // Why not, in the order the other provider decides it: the quota, then the conversation, then the limit.
            if (start.TokensPerDay > 0 && found.UsedToday >= start.TokensPerDay)
            {
                return new AnswerStartResult(AnswerStartOutcome.QuotaExceeded, TokensUsedToday: found.UsedToday);
            }

            var holder = await ActiveAsync(db.Conversations.Where(c => c.Id == start.ConversationId && c.DeletedAt == null), cancellationToken).ConfigureAwait(false);
            if (holder is null || holder.Value.UserId != start.UserId)
            {
                return new AnswerStartResult(AnswerStartOutcome.ConversationNotFound);
            }

            if (holder.Value.Answer is { } running)
            {
                return new AnswerStartResult(AnswerStartOutcome.AnswerRunning, Running: running);
            }

            return found.Running >= start.MaxConcurrentAnswers
                ? new AnswerStartResult(AnswerStartOutcome.TooManyAnswers)
                : new AnswerStartResult(AnswerStartOutcome.MessageNotFound);
        }

        // The history: the cached messages topped up with the newer ones the batch read (the question among them). A
        // cache from before a clear (another epoch) or ahead of the database is not used: then the whole history is
        // read (the claim holds the conversation, so nothing writes it meanwhile).
        question = question with { ParentId = found.ParentId };
        IReadOnlyList<ChatMessage> history;
        if (cached is not null && cached.Epoch == found.Epoch && cached.Version < found.Version)
        {
            history = [.. cached.Messages, .. found.Newer.Where(m => m.Id != question.Id)];
        }
        else if (cached is null)
        {
            history = [.. found.Newer.Where(m => m.Id != question.Id)];
        }
        else
        {
            cache.Remove(start.ConversationId);
            history = await HistoryAsync(db, start.ConversationId, found.Epoch, found.Version - 1, cancellationToken).ConfigureAwait(false);
        }

        var tree = new ConversationTree([.. history, question]);
        cache.Set(start.ConversationId, new CachedHistory(found.Epoch, found.Version, tree.All));
        return new AnswerStartResult(AnswerStartOutcome.Claimed, found.Fence, tree.PathTo(question.Id), question.Id,
            Instructions: found.Instructions, ModelId: found.ModelId);
    }

    public Task<AnswerCommitOutcome> CommitAnswerAsync(AnswerCommit commit, CancellationToken cancellationToken = default) =>
        RunAsync("Storing an answer", async db =>
        {
            var (conversationId, taskId, fence) = (commit.ConversationId, commit.TaskId, commit.Fence);
            var now = Now();
            if (db.Database.IsNpgsql())
            {
                // PostgreSQL: release, version and insert in ONE statement (one round trip, its own transaction): the
                // end of every answer and every Stop waits on this commit, and on a busy machine each round trip of
                // an explicit transaction (BEGIN, UPDATE, SELECT, INSERT, COMMIT) queued behind the streaming work.
                var landed = await PostgresCommit.RunAsync(db, commit, now, cancellationToken).ConfigureAwait(false);
                if (landed is { } row)
                {
                    cache.Append(conversationId, row.Epoch, row.Version, row.Message);
                    return AnswerCommitOutcome.Committed;
                }

                return await AlreadyCommittedAsync(db, commit, cancellationToken).ConfigureAwait(false)
                    ? AnswerCommitOutcome.AlreadyCommitted
                    : AnswerCommitOutcome.Fenced;
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var released = await db.Conversations
                .Where(c => c.Id == conversationId && c.ActiveTaskId == taskId && c.Fence == fence)
                .ExecuteUpdateAsync(ReleaseClaim(now, taskId), cancellationToken).ConfigureAwait(false);
            if (released == 0)
            {
                return await AlreadyCommittedAsync(db, commit, cancellationToken).ConfigureAwait(false)
                    ? AnswerCommitOutcome.AlreadyCommitted
                    : AnswerCommitOutcome.Fenced;
            }

            var (epoch, version, message) = await InsertAnswerAsync(db, conversationId, commit.Answer, now, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            cache.Append(conversationId, epoch, version, message);
            return AnswerCommitOutcome.Committed;
        }, cancellationToken);

    /// <summary>
    /// A retry of a commit that landed, or a claim taken from a generation judged dead? The janitor's failed record
    /// carries the same id (the task's), so only a record equal to this commit is ours: anything else means the
    /// claim was taken away, and this generation wrote nothing.
    /// </summary>
    private static async Task<bool> AlreadyCommittedAsync(ChatPortalDbContext db, AnswerCommit commit, CancellationToken cancellationToken)
    {
        var answer = commit.Answer;
        var stored = await db.Messages.AsNoTracking().Where(m => m.Id == commit.TaskId && m.ConversationId == commit.ConversationId)
            .Select(m => new { m.Status, m.Content, m.Error }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return stored is not null && stored.Status == answer.Status && stored.Content == answer.Content && stored.Error == answer.Error;
    }

    /// <summary>
    /// The janitor's release of an answer whose owner died: records it as failed (once) and releases the claim,
    /// only if the claim is still the one it judged. Returns false when someone else got there first.
    /// </summary>
    public Task<bool> ReleaseAbandonedAsync(ActiveAnswer answer, string reason, CancellationToken cancellationToken = default) =>
        RunAsync("Releasing an abandoned answer", async db =>
        {
            var now = Now();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // The question the answer was for: the end of the branch on screen while the claim is held (read before the
            // release makes the failed record the end).
            var parentId = await db.Conversations.Where(c => c.Id == answer.ConversationId).Select(c => c.LeafId).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false)
                ?? await db.Messages.Where(m => m.ConversationId == answer.ConversationId).OrderByDescending(m => m.Seq)
                    .Select(m => m.Id).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            var released = await db.Conversations
                .Where(c => c.Id == answer.ConversationId && c.ActiveTaskId == answer.TaskId && c.Fence == answer.Fence)
                .ExecuteUpdateAsync(ReleaseClaim(now, answer.TaskId), cancellationToken).ConfigureAwait(false);
            if (released == 0)
            {
                return false;
            }

            var modelId = await db.Conversations.Where(c => c.Id == answer.ConversationId).Select(c => c.ModelId).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            var failed = new ChatMessage(answer.TaskId, ChatRole.Assistant, "", MessageStatus.Failed, answer.StartedAt, reason, 0, answer.Node, parentId,
                modelId, new AnswerUsage(0, 0, Estimated: true));
            var (epoch, version, message) = await InsertAnswerAsync(db, answer.ConversationId, failed, now, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            cache.Append(answer.ConversationId, epoch, version, message);
            return true;
        }, cancellationToken);

    public Task<ActiveAnswer?> FindActiveAnswerAsync(string conversationId, CancellationToken cancellationToken = default) =>
        RunAsync("Reading a running answer", async db =>
            (await ActiveAsync(db.Conversations.Where(c => c.Id == conversationId && c.ActiveTaskId != null), cancellationToken).ConfigureAwait(false))?.Answer,
            cancellationToken);

    public Task<IReadOnlyList<ActiveAnswer>> ListActiveAnswersAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<ActiveAnswer>>("Listing running answers", async db =>
        {
            var rows = await Project(db.Conversations.Where(c => c.ActiveInstanceId != null)).ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. rows.Select(r => r.Answer!).OrderBy(a => a.StartedAt)];
        }, cancellationToken);

    public Task<ActiveAnswer?> RequestCancelAsync(string taskId, string conversationId, string? userId, CancellationToken cancellationToken = default) =>
        RunAsync("Recording a Stop", async db =>
        {
            if (db.Database.IsNpgsql())
            {
                // One round trip: the Stop is on the click's path.
                return await PostgresCommit.RequestCancelAsync(db, taskId, conversationId, userId, cancellationToken).ConfigureAwait(false);
            }

            var target = db.Conversations.Where(c => c.Id == conversationId && c.ActiveTaskId == taskId);
            if (userId is not null)
            {
                target = target.Where(c => c.UserId == userId);
            }

            if (await target.ExecuteUpdateAsync(s => s.SetProperty(c => c.CancelRequested, true), cancellationToken).ConfigureAwait(false) == 0)
            {
                return null;
            }

            return (await ActiveAsync(target, cancellationToken).ConfigureAwait(false))?.Answer;
        }, cancellationToken);

    public Task<StoredAnswer?> FindAnswerAsync(string conversationId, string taskId, CancellationToken cancellationToken = default) =>
        RunAsync("Reading an answer", async db =>
        {
            var row = await db.Messages.AsNoTracking()
                .Where(m => m.Id == taskId && m.ConversationId == conversationId && m.Role == ChatRole.Assistant)
                .Select(m => new { Message = m, m.Conversation!.UserId })
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            return row is null ? null : new StoredAnswer(row.UserId, ToMessage(row.Message));
        }, cancellationToken);

    // ---------------------------------------------------------------- helpers

    /// <summary>Releases the claim; the stored answer becomes the end of the branch on screen.</summary>
    private static Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<ConversationRecord>> ReleaseClaim(DateTime now, string answerId) => s => s
        .SetProperty(c => c.LeafId, answerId)
        .SetProperty(c => c.ActiveTaskId, (string?)null)
        .SetProperty(c => c.ActiveInstanceId, (string?)null)
        .SetProperty(c => c.ActiveNode, (string?)null)
        .SetProperty(c => c.ActiveSince, (DateTime?)null)
        .SetProperty(c => c.CancelRequested, false)
        .SetProperty(c => c.Version, c => c.Version + 1)
        .SetProperty(c => c.UpdatedAt, now);

    /// <summary>
    /// Inserts an answer at the version the release just took (the row is locked by the release), and its row of the
    /// usage ledger.
    /// </summary>
    private static async Task<(long Epoch, long Version, ChatMessage Message)> InsertAnswerAsync(ChatPortalDbContext db, string conversationId, ChatMessage answer, DateTime now, CancellationToken cancellationToken)
    {
        var state = await db.Conversations.AsNoTracking().Where(c => c.Id == conversationId)
            .Select(c => new { c.Version, c.HistoryEpoch, c.UserId }).FirstAsync(cancellationToken).ConfigureAwait(false);
        var record = new MessageRecord
        {
            Id = answer.Id,
            ConversationId = conversationId,
            ParentId = answer.ParentId,
            Seq = state.Version,
            Role = ChatRole.Assistant,
            Content = answer.Content,
            Status = answer.Status,
            Error = answer.Error,
            Tokens = answer.Tokens,
            Node = answer.Node,
            CreatedAt = answer.CreatedAt == default ? now : answer.CreatedAt.UtcDateTime,
            ModelId = answer.ModelId,
            InputTokens = answer.Usage?.InputTokens,
            OutputTokens = answer.Usage?.OutputTokens,
            UsageEstimated = answer.Usage?.Estimated ?? false,
            FirstTokenMs = answer.Usage?.FirstTokenMs,
            TokensPerSecond = answer.Usage?.TokensPerSecond,
        };
        db.Messages.Add(record);
        db.Usage.Add(ToUsage(answer, conversationId, state.UserId, now));
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return (state.HistoryEpoch, state.Version, ToMessage(record));
    }

    /// <summary>The messages as of <paramref name="version"/>: the cached copy, topped up with only the newer messages.</summary>
    private async Task<IReadOnlyList<ChatMessage>> HistoryAsync(ChatPortalDbContext db, string conversationId, long epoch, long version, CancellationToken cancellationToken)
    {
        var cached = cache.Find(conversationId);
        if (cached is not null && cached.Epoch == epoch && cached.Version == version)
        {
            return cached.Messages;
        }

        var from = cached is not null && cached.Epoch == epoch && cached.Version < version ? cached.Version : 0;
        var newer = await db.Messages.AsNoTracking()
            .Where(m => m.ConversationId == conversationId && m.Seq > from && m.Seq <= version)
            .OrderBy(m => m.Seq)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ChatMessage> messages = from == 0 ? [.. newer.Select(ToMessage)] : [.. cached!.Messages, .. newer.Select(ToMessage)];
        cache.Set(conversationId, new CachedHistory(epoch, version, messages));
        return messages;
    }

    private static async Task<HistoryChange> WhyNotAsync(ChatPortalDbContext db, string userId, string conversationId, CancellationToken cancellationToken)
    {
        var row = await db.Conversations.AsNoTracking().Where(c => c.Id == conversationId && c.DeletedAt == null)
            .Select(c => new { c.UserId, c.ActiveTaskId }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return row is null || row.UserId != userId || row.ActiveTaskId is null ? HistoryChange.NotFound : HistoryChange.AnswerRunning;
    }

    private static async Task<(string UserId, ActiveAnswer? Answer)?> ActiveAsync(IQueryable<ConversationRecord> query, CancellationToken cancellationToken)
    {
        var row = await Project(query).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return row is null ? null : (row.UserId, row.Answer);
    }

    private static IQueryable<ActiveRow> Project(IQueryable<ConversationRecord> query) =>
        query.AsNoTracking().Select(c => new ActiveRow(
            c.UserId,
            c.ActiveTaskId == null ? null : new ActiveAnswer(c.ActiveTaskId, c.Id, c.UserId, c.ActiveNode ?? "", c.ActiveInstanceId ?? "",
                new DateTimeOffset(DateTime.SpecifyKind(c.ActiveSince ?? c.UpdatedAt, DateTimeKind.Utc)), c.Fence, c.CancelRequested)));

    private sealed record ActiveRow(string UserId, ActiveAnswer? Answer);

    internal static ChatMessage ToMessage(MessageRecord m) =>
        new(m.Id, m.Role, m.Content, m.Status, Utc(m.CreatedAt), m.Error, m.Tokens, m.Node, m.ParentId, m.ModelId,
            m.InputTokens is { } input && m.OutputTokens is { } output ? new AnswerUsage(input, output, m.UsageEstimated, m.FirstTokenMs, m.TokensPerSecond) : null);

    /// <summary>The ledger row of an answer that ends at <paramref name="now"/> (its day is the UTC day it ended).</summary>
    internal static UsageRecord ToUsage(ChatMessage answer, string conversationId, string userId, DateTime now) => new()
    {
        Id = answer.Id,
        UserId = userId,
        ConversationId = conversationId,
        ModelId = answer.ModelId,
        Day = DateOnly.FromDateTime(now),
        CreatedAt = now,
        Status = answer.Status,
        InputTokens = answer.Usage?.InputTokens ?? 0,
        OutputTokens = answer.Usage?.OutputTokens ?? 0,
        Estimated = answer.Usage?.Estimated ?? true,
    };

    internal static async Task<long> UsedOnAsync(ChatPortalDbContext db, string userId, DateOnly day, CancellationToken cancellationToken) =>
        await db.Usage.Where(u => u.UserId == userId && u.Day == day)
            .SumAsync(u => (long)u.InputTokens + u.OutputTokens, cancellationToken).ConfigureAwait(false);

    private static Task EnsureUserAsync(ChatPortalDbContext db, string userId, DateTime now, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"INSERT INTO users (id, created_at, last_active_at) VALUES ({userId}, {now}, {now}) ON CONFLICT (id) DO NOTHING", cancellationToken);

    private DateTime Now() => time.GetUtcNow().UtcDateTime;

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private async Task<T> RunAsync<T>(string what, Func<ChatPortalDbContext, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var result = await work(db).ConfigureAwait(false);
            health.ReportSuccess();
            return result;
        }
        catch (Exception ex) when (DatabaseErrors.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            health.ReportFailure(ex);
            throw new StoreUnavailableException(what, ex);
        }
    }
}
