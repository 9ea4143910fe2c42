using ChatPortal.Core.Conversations;
using Microsoft.EntityFrameworkCore;

namespace ChatPortal.Tests.Storage;

/// <summary>The conversation list: deleting with a restore window, the purge after it, pages of a long list.</summary>
public abstract partial class ConversationStoreContract
{
    [Fact]
    public async Task ADeletedConversationIsGoneForEveryReaderAtOnceButKeepsItsRowsUntilThePurge()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");
        Assert.Equal(HistoryChange.AnswerRunning, await Store.DeleteAsync(user, conversationId));
        await Store.CommitAnswerAsync(Answer(start, claimed, "Answer"));
        var other = await OpenNodeAsync("node-b");
        Assert.Equal(2, (await other.Store.FindAsync(conversationId))!.Messages.Count);

        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, conversationId));

        // Gone for this node and for a node that had it cached, for every kind of read and write.
        foreach (var store in new[] { Store, other.Store })
        {
            Assert.Null(await store.FindAsync(conversationId));
            Assert.DoesNotContain(await store.ListAsync(user), c => c.Id == conversationId);
            Assert.Empty((await store.ListPageAsync(user, 10)).Items);
        }

        Assert.Null(await Store.RenameAsync(user, conversationId, "Renamed while deleted"));
        Assert.Equal(HistoryChange.NotFound, await Store.ClearAsync(user, conversationId));
        Assert.Equal(HistoryChange.NotFound, await Store.DeleteAsync(user, conversationId));
        Assert.Equal(AnswerStartOutcome.ConversationNotFound, (await Store.StartAnswerAsync(Ask(conversationId, user, "Anyone there?"))).Outcome);
        Assert.Equal(AnswerStartOutcome.ConversationNotFound, (await Store.StartAnswerAsync(Ask(conversationId, user, question: null))).Outcome);

        // Nothing removed yet: the rows wait for the restore window to pass.
        Assert.Equal(2, await CountMessagesAsync(conversationId));
        Assert.Equal(0, await Node.Database.PurgeDeletedAsync(ConversationDeletion.PurgeAfter));
        Assert.Equal(2, await CountMessagesAsync(conversationId));
    }

    [Fact]
    public async Task ARestoreWithinTheWindowBringsTheConversationBackWhole()
    {
        var (user, mallory) = (NewUser(), NewUser());
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Keep me", "Kept");
        var before = (await Store.GetAsync(user, conversationId))!;
        Assert.Null(await Store.RestoreAsync(user, conversationId));
        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, conversationId));

        Assert.Null(await Store.RestoreAsync(mallory, conversationId));
        Assert.Null(await Store.RestoreAsync(user, "no-such-conversation"));
        var restored = await Store.RestoreAsync(user, conversationId);

        Assert.NotNull(restored);
        Assert.Equal(new ConversationSummary(conversationId, "Keep me", before.UpdatedAt), restored);
        var after = (await Store.GetAsync(user, conversationId))!;
        Assert.Equal(Shape(before.Messages), Shape(after.Messages));
        Assert.Equal(conversationId, (await Store.ListAsync(user))[0].Id);
        Assert.Null(await Store.RestoreAsync(user, conversationId));

        // It answers again as before.
        var (_, next) = await ClaimAsync(conversationId, user, "Still here?");
        Assert.Equal(["Keep me", "Kept", "Still here?"], next.History!.Select(m => m.Content));
    }

    [Fact]
    public async Task ThePurgeRemovesOnlyConversationsPastTheWindowWithEveryMessageAndNoRestoreAfter()
    {
        var user = NewUser();
        var expired = (await Store.CreateAsync(user)).Id;
        var recent = (await Store.CreateAsync(user)).Id;
        var kept = (await Store.CreateAsync(user)).Id;
        foreach (var id in new[] { expired, recent, kept })
        {
            await AnswerAsync(id, user, $"Question in {id}", "Answer");
        }

        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, expired));
        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, recent));

        // The first one was deleted a minute ago (the database's own clock, moved back for the test).
        await using (var db = await Node.Contexts.CreateDbContextAsync())
        {
            await db.Conversations.Where(c => c.Id == expired)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.DeletedAt, c => DateTime.UtcNow.AddMinutes(-1)));
        }

        Assert.Null(await Store.RestoreAsync(user, expired));

        Assert.True(await Node.Database.PurgeDeletedAsync(ConversationDeletion.PurgeAfter) >= 1);

        Assert.Equal(0, await Node.CountAsync($"SELECT COUNT(*) AS \"Value\" FROM conversations WHERE id = {expired}"));
        Assert.Equal(0, await CountMessagesAsync(expired));
        Assert.Equal(2, await CountMessagesAsync(recent));
        Assert.Equal(2, await CountMessagesAsync(kept));
        Assert.Equal(0, await Node.CountAsync($"SELECT COUNT(*) AS \"Value\" FROM messages m WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id)"));
        Assert.Null(await Store.RestoreAsync(user, expired));
        Assert.NotNull(await Store.RestoreAsync(user, recent));
        Assert.Equal(new[] { recent, kept }.Order(), (await Store.ListAsync(user)).Select(c => c.Id).Order());
    }

    [Fact]
    public async Task ADeleteAndAStartOfOneConversationAtOnceNeverBothWin()
    {
        var user = NewUser();
        for (var round = 0; round < 8; round++)
        {
            var conversationId = (await Store.CreateAsync(user)).Id;
            var start = Ask(conversationId, user, "Racing the delete");

            var started = Task.Run(() => Store.StartAnswerAsync(start));
            var deleted = Task.Run(() => Store.DeleteAsync(user, conversationId));
            var (claim, delete) = (await started, await deleted);

            if (delete == HistoryChange.Done)
            {
                // The delete won: no answer runs in a deleted conversation, and none was stored.
                Assert.Equal(AnswerStartOutcome.ConversationNotFound, claim.Outcome);
                Assert.Null(await Store.FindActiveAnswerAsync(conversationId));
                Assert.Equal(0, await CountMessagesAsync(conversationId));
            }
            else
            {
                Assert.Equal(HistoryChange.AnswerRunning, delete);
                Assert.Equal(AnswerStartOutcome.Claimed, claim.Outcome);
                Assert.Equal(start.TaskId, (await Store.FindActiveAnswerAsync(conversationId))!.TaskId);
                Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(start, claim, "Answered")));
            }
        }
    }

    [Fact]
    public async Task PagesFollowTheListOrderWithoutGapsOrRepeatsEvenWhenTimesTie()
    {
        var user = NewUser();
        var created = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            created.Add((await Store.CreateAsync(user)).Id);
        }

        await AnswerAsync(created[2], user, "Bring this one to the top", "Done");
        await Store.DeleteAsync(user, created[4]);
        var expected = (await Store.ListAsync(user)).Select(c => c.Id).ToList();
        Assert.Equal(6, expected.Count);
        Assert.Equal(created[2], expected[0]);

        Assert.Equal(expected, await PagedIdsAsync(user, pageSize: 4));
        Assert.Equal(expected, await PagedIdsAsync(user, pageSize: 1));
        var whole = await Store.ListPageAsync(user, 6);
        Assert.Null(whole.Next);

        // Equal update times (a bulk import, a coarse clock): the id breaks the tie, and a page boundary inside the tie
        // still loses nothing.
        await using (var db = await Node.Contexts.CreateDbContextAsync())
        {
            var at = new DateTime(2025, 5, 1, 12, 0, 0, DateTimeKind.Utc);
            await db.Conversations.Where(c => c.UserId == user).ExecuteUpdateAsync(s => s.SetProperty(c => c.UpdatedAt, at));
        }

        var tied = (await Store.ListAsync(user)).Select(c => c.Id).ToList();
        Assert.Equal(expected.Order(), tied.Order());
        Assert.Equal(tied, await PagedIdsAsync(user, pageSize: 4));
        Assert.Equal(tied, await PagedIdsAsync(user, pageSize: 2));

        // The cursor survives its round trip through text (the API's and the page's form).
        var first = await Store.ListPageAsync(user, 2);
        Assert.True(ConversationCursor.TryParse(first.Next!.ToString(), out var parsed));
        Assert.Equal(first.Next, parsed);
        Assert.Equal(tied.Skip(2).Take(2), (await Store.ListPageAsync(user, 2, parsed)).Items.Select(c => c.Id));
    }

    private async Task<List<string>> PagedIdsAsync(string user, int pageSize)
    {
        var ids = new List<string>();
        ConversationCursor? next = null;
        do
        {
            var page = await Store.ListPageAsync(user, pageSize, next);
            Assert.True(page.Items.Count <= pageSize);
            Assert.True(page.Items.Count == pageSize || page.Next is null);
            ids.AddRange(page.Items.Select(c => c.Id));
            next = page.Next;
        }
        while (next is not null);

        return ids;
    }

    private Task<long> CountMessagesAsync(string conversationId) =>
        Node.CountAsync($"SELECT COUNT(*) AS \"Value\" FROM messages WHERE conversation_id = {conversationId}");
}
