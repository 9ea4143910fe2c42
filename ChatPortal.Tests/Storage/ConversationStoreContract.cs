using System.Diagnostics;
using ChatPortal.Core;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Storage;

/// <summary>The store on SQLite, the embedded default.</summary>
public sealed class SqliteConversationStoreTests(SqliteStoreDatabase database)
    : ConversationStoreContract(database), IClassFixture<SqliteStoreDatabase>;

/// <summary>The store on PostgreSQL, the cluster's system of record.</summary>
public sealed class PostgresConversationStoreTests(PostgresStoreDatabase database)
    : ConversationStoreContract(database), IClassFixture<PostgresStoreDatabase>;

/// <summary>
/// What <see cref="IConversationStore"/> promises, whatever the provider: the claim of a conversation is taken once,
/// commits are fenced and idempotent, the history cache keeps the per-answer cost flat, leases run on the
/// database's clock. Every test uses users of its own, so the tests of a class share one database.
/// </summary>
public abstract partial class ConversationStoreContract(StoreDatabase database) : IAsyncLifetime
{
    private readonly List<StoreNode> _nodes = [];

    private StoreNode Node => _nodes[0];

    private IConversationStore Store => Node.Store;

    public async Task InitializeAsync() => await OpenNodeAsync("node-a");

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConversationsAreListedMostRecentlyUpdatedFirst()
    {
        var user = NewUser();
        var first = await Store.CreateAsync(user);
        var second = await Store.CreateAsync(user);
        await Store.CreateAsync(NewUser());

        Assert.Equal([second.Id, first.Id], (await Store.ListAsync(user)).Select(c => c.Id));
        Assert.Equal(Conversation.DefaultTitle, first.Title);

        await ClaimAsync(first.Id, user, "Bring the first one back to the top");

        var listed = await Store.ListAsync(user);
        Assert.Equal([first.Id, second.Id], listed.Select(c => c.Id));
        Assert.True(listed[0].UpdatedAt > listed[1].UpdatedAt);
    }

    [Fact]
    public async Task AnotherUsersConversationIsNotFound()
    {
        var (alice, mallory) = (NewUser(), NewUser());
        var conversation = await Store.CreateAsync(alice);
        await Store.CreateAsync(mallory);

        Assert.Null(await Store.GetAsync(mallory, conversation.Id));
        Assert.Null(await Store.RenameAsync(mallory, conversation.Id, "mine now"));
        Assert.Equal(HistoryChange.NotFound, await Store.DeleteAsync(mallory, conversation.Id));
        Assert.Equal(HistoryChange.NotFound, await Store.ClearAsync(mallory, conversation.Id));
        Assert.Equal(AnswerStartOutcome.ConversationNotFound, (await Store.StartAnswerAsync(Ask(conversation.Id, mallory, "let me in"))).Outcome);
        Assert.Equal(AnswerStartOutcome.ConversationNotFound, (await Store.StartAnswerAsync(Ask(conversation.Id, NewUser(), "nobody"))).Outcome);
        Assert.Equal(AnswerStartOutcome.ConversationNotFound, (await Store.StartAnswerAsync(Ask("no-such-conversation", alice, "hello"))).Outcome);

        var untouched = await Store.GetAsync(alice, conversation.Id);
        Assert.NotNull(untouched);
        Assert.Equal(Conversation.DefaultTitle, untouched.Title);
        Assert.Empty(untouched.Messages);
        Assert.Null(await Store.FindActiveAnswerAsync(conversation.Id));
    }

    [Fact]
    public async Task ASecondStartInTheSameConversationFindsTheFirstAnswerRunning()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "First question");

        var second = await Store.StartAnswerAsync(Ask(conversationId, user, "Second question"));

        Assert.Equal(AnswerStartOutcome.AnswerRunning, second.Outcome);
        Assert.NotNull(second.Running);
        Assert.Equal(start.TaskId, second.Running.TaskId);
        Assert.Equal(claimed.Fence, second.Running.Fence);
        Assert.Equal(Node.InstanceId, second.Running.Instance);
        Assert.Equal("First question", Assert.Single(await MessagesAsync(user, conversationId)).Content);
    }

    [Fact]
    public async Task TwoConcurrentStartsInOneConversationClaimItExactlyOnce()
    {
        var user = NewUser();
        for (var round = 0; round < 8; round++)
        {
            var conversationId = (await Store.CreateAsync(user)).Id;
            var starts = new[] { Ask(conversationId, user, "left"), Ask(conversationId, user, "right") };

            var results = await Task.WhenAll(starts.Select(s => Task.Run(() => Store.StartAnswerAsync(s))));

            var winner = Assert.Single(results, r => r.Outcome == AnswerStartOutcome.Claimed);
            var loser = Assert.Single(results, r => r.Outcome == AnswerStartOutcome.AnswerRunning);
            var winnerStart = starts[Array.IndexOf(results, winner)];
            Assert.Equal(winnerStart.TaskId, loser.Running!.TaskId);
            Assert.Equal(winnerStart.Question, Assert.Single(await MessagesAsync(user, conversationId)).Content);
            Assert.Equal(winnerStart.TaskId, (await Store.FindActiveAnswerAsync(conversationId))!.TaskId);
        }
    }

    [Fact]
    public async Task AUserCannotRunMoreAnswersThanTheLimit()
    {
        var user = NewUser();
        var conversations = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            conversations.Add((await Store.CreateAsync(user)).Id);
        }

        await ClaimAsync(conversations[0], user, "one", limit: 2);
        await ClaimAsync(conversations[1], user, "two", limit: 2);

        var third = await Store.StartAnswerAsync(Ask(conversations[2], user, "three", limit: 2));

        Assert.Equal(AnswerStartOutcome.TooManyAnswers, third.Outcome);
        Assert.Null(await Store.FindActiveAnswerAsync(conversations[2]));
        Assert.Empty(await MessagesAsync(user, conversations[2]));
        Assert.Equal(Conversation.DefaultTitle, (await Store.GetAsync(user, conversations[2]))!.Title);

        // Another user is not held back by this one's answers.
        var other = NewUser();
        await ClaimAsync((await Store.CreateAsync(other)).Id, other, "mine", limit: 2);
    }

    [Fact]
    public async Task ConcurrentStartsOfOneUserNeverExceedTheLimit()
    {
        var user = NewUser();
        var conversations = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            conversations.Add((await Store.CreateAsync(user)).Id);
        }

        for (var round = 0; round < 4; round++)
        {
            var starts = conversations.Select(c => Ask(c, user, $"round {round}", limit: 2)).ToList();

            var results = await Task.WhenAll(starts.Select(s => Task.Run(() => Store.StartAnswerAsync(s))));

            Assert.Equal(2, results.Count(r => r.Outcome == AnswerStartOutcome.Claimed));
            Assert.Equal(3, results.Count(r => r.Outcome == AnswerStartOutcome.TooManyAnswers));
            var running = (await Store.ListActiveAnswersAsync()).Where(a => a.UserId == user).ToList();
            Assert.Equal(2, running.Count);

            // End this round's answers so the next round starts from nothing running.
            for (var i = 0; i < starts.Count; i++)
            {
                if (results[i].Outcome == AnswerStartOutcome.Claimed)
                {
                    Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(starts[i], results[i], "done")));
                }
            }
        }
    }

    [Fact]
    public async Task TheStartStoresTheQuestionAndTheFirstQuestionNamesTheConversation()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;

        var (start, claimed) = await ClaimAsync(conversationId, user, "  What is a fencing token?  ");

        var question = Assert.Single(claimed.History!);
        Assert.Equal(ChatRole.User, question.Role);
        Assert.Equal("  What is a fencing token?  ", question.Content);
        Assert.Equal(question.Id, claimed.ParentId);
        Assert.Equal(Shape([question]), Shape(await MessagesAsync(user, conversationId)));
        Assert.Equal("What is a fencing token?", (await Store.GetAsync(user, conversationId))!.Title);

        await Store.CommitAnswerAsync(Answer(start, claimed, "A number that only grows."));
        var (_, next) = await ClaimAsync(conversationId, user, "And a lease?");

        Assert.Equal(["  What is a fencing token?  ", "A number that only grows.", "And a lease?"], next.History!.Select(m => m.Content));
        Assert.Equal(next.History![1].Id, next.History[2].ParentId);
        Assert.Equal("What is a fencing token?", (await Store.GetAsync(user, conversationId))!.Title);

        var other = (await Store.CreateAsync(user)).Id;
        await ClaimAsync(other, user, new string('x', 100));
        var title = (await Store.GetAsync(user, other))!.Title;
        Assert.Equal(Conversation.TitleFrom(new string('x', 100)), title);
        Assert.True(title.Length <= 60);
    }

    [Fact]
    public async Task ACommitWithTheRightFenceStoresTheAnswerAndReleasesTheClaim()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");

        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(start, claimed, "The answer")));

        Assert.Null(await Store.FindActiveAnswerAsync(conversationId));
        var messages = await MessagesAsync(user, conversationId);
        Assert.Equal(2, messages.Count);
        var answer = messages[1];
        Assert.Equal(start.TaskId, answer.Id);
        Assert.Equal(ChatRole.Assistant, answer.Role);
        Assert.Equal("The answer", answer.Content);
        Assert.Equal(MessageStatus.Completed, answer.Status);
        Assert.Equal(messages[0].Id, answer.ParentId);
        Assert.Equal(Node.NodeId, answer.Node);

        // Released: the next answer claims again, with a fence that only grows.
        var (_, again) = await ClaimAsync(conversationId, user, "Another question");
        Assert.True(again.Fence > claimed.Fence);
    }

    [Fact]
    public async Task ARetriedCommitReportsAlreadyCommittedAndWritesNothingTwice()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");
        var commit = Answer(start, claimed, "The answer");
        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(commit));

        Assert.Equal(AnswerCommitOutcome.AlreadyCommitted, await Store.CommitAnswerAsync(commit));

        var messages = await MessagesAsync(user, conversationId);
        Assert.Equal(2, messages.Count);
        Assert.Equal(1, await Node.CountAsync($"SELECT COUNT(*) AS \"Value\" FROM messages WHERE id = {start.TaskId}"));
        Assert.Null(await Store.FindActiveAnswerAsync(conversationId));
    }

    [Fact]
    public async Task ACommitWhoseClaimWasTakenOverIsFencedAndWritesNothing()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (stale, staleClaim) = await ClaimAsync(conversationId, user, "Question");

        // The owner was judged dead: the janitor released its claim, and a new answer took the conversation.
        var abandoned = (await Store.FindActiveAnswerAsync(conversationId))!;
        Assert.True(await Node.Database.ReleaseAbandonedAsync(abandoned, "The node stopped renewing its lease."));
        var (successor, successorClaim) = await ClaimAsync(conversationId, user, "Asked again");
        Assert.True(successorClaim.Fence > staleClaim.Fence);

        var outcome = await Store.CommitAnswerAsync(Answer(stale, staleClaim, "The frozen owner's late answer"));

        Assert.Equal(AnswerCommitOutcome.Fenced, outcome);
        var messages = await MessagesAsync(user, conversationId);
        Assert.DoesNotContain(messages, m => m.Content == "The frozen owner's late answer");
        Assert.Equal(successor.TaskId, (await Store.FindActiveAnswerAsync(conversationId))!.TaskId);

        // A stale fence with the successor's own task id writes nothing either.
        var forged = Answer(successor, successorClaim with { Fence = staleClaim.Fence }, "forged");
        Assert.Equal(AnswerCommitOutcome.Fenced, await Store.CommitAnswerAsync(forged));
        Assert.Equal(messages.Count, (await MessagesAsync(user, conversationId)).Count);

        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(successor, successorClaim, "The successor's answer")));
    }

    [Fact]
    public async Task ReleasingAnAbandonedAnswerRecordsItFailedOnce()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, _) = await ClaimAsync(conversationId, user, "Question");
        var abandoned = (await Store.FindActiveAnswerAsync(conversationId))!;

        Assert.True(await Node.Database.ReleaseAbandonedAsync(abandoned, "Its node died."));
        Assert.False(await Node.Database.ReleaseAbandonedAsync(abandoned, "Its node died."));

        Assert.Null(await Store.FindActiveAnswerAsync(conversationId));
        var messages = await MessagesAsync(user, conversationId);
        Assert.Equal(2, messages.Count);
        var failed = messages[1];
        Assert.Equal(start.TaskId, failed.Id);
        Assert.Equal(MessageStatus.Failed, failed.Status);
        Assert.Equal("Its node died.", failed.Error);
        Assert.Equal(messages[0].Id, failed.ParentId);
        var stored = await Store.FindAnswerAsync(conversationId, start.TaskId);
        Assert.Equal(MessageStatus.Failed, stored!.Message.Status);
        Assert.Equal(1, await Node.CountAsync($"SELECT COUNT(*) AS \"Value\" FROM messages WHERE id = {start.TaskId}"));
    }

    [Fact]
    public async Task ClearIsRefusedWhileAnAnswerRunsAndEmptiesTheConversationAfter()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");

        Assert.Equal(HistoryChange.AnswerRunning, await Store.ClearAsync(user, conversationId));
        Assert.Single(await MessagesAsync(user, conversationId));
        var other = await OpenNodeAsync("node-b");
        Assert.Single((await other.Store.FindAsync(conversationId))!.Messages);

        await Store.CommitAnswerAsync(Answer(start, claimed, "Answer"));
        Assert.Equal(HistoryChange.Done, await Store.ClearAsync(user, conversationId));

        var cleared = (await Store.GetAsync(user, conversationId))!;
        Assert.Empty(cleared.Messages);
        Assert.Equal(Conversation.DefaultTitle, cleared.Title);
        Assert.Equal(0, await Node.CountAsync($"SELECT COUNT(*) AS \"Value\" FROM messages WHERE conversation_id = {conversationId}"));

        // Another node that had the old history cached sees the cleared one too, and its next answer starts afresh.
        Assert.Empty((await other.Store.FindAsync(conversationId))!.Messages);
        var (_, next) = await ClaimAsync(conversationId, user, "Fresh start", node: other);
        Assert.Equal(["Fresh start"], next.History!.Select(m => m.Content));
    }

    [Fact]
    public async Task AStopIsRecordedOnTheClaimAndSeenAtTheNextLeaseRenewal()
    {
        var (user, mallory) = (NewUser(), NewUser());
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");
        Assert.Contains(await Node.Leases.RenewAsync(Node.InstanceId) ?? [], c => c.TaskId == start.TaskId && !c.CancelRequested);

        Assert.Null(await Store.RequestCancelAsync(start.TaskId, conversationId, mallory));
        Assert.False((await Store.FindActiveAnswerAsync(conversationId))!.CancelRequested);

        var stopped = await Store.RequestCancelAsync(start.TaskId, conversationId, user);

        Assert.NotNull(stopped);
        Assert.Equal(start.TaskId, stopped.TaskId);
        Assert.True(stopped.CancelRequested);
        var held = Assert.Single(await Node.Leases.RenewAsync(Node.InstanceId) ?? [], c => c.TaskId == start.TaskId);
        Assert.Equal(new HeldClaimView(start.TaskId, claimed.Fence, true), new HeldClaimView(held.TaskId, held.Fence, held.CancelRequested));

        // An administrator (no user) may stop it too; it stays recorded until the answer ends.
        Assert.NotNull(await Store.RequestCancelAsync(start.TaskId, conversationId, userId: null));
        await Store.CommitAnswerAsync(Answer(start, claimed, "Stopped early", MessageStatus.Cancelled));
        Assert.DoesNotContain(await Node.Leases.RenewAsync(Node.InstanceId) ?? [], c => c.TaskId == start.TaskId);
    }

    [Fact]
    public async Task AStopForAFinishedOrUnknownTaskReturnsNull()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");
        await Store.CommitAnswerAsync(Answer(start, claimed, "Answer"));

        Assert.Null(await Store.RequestCancelAsync(start.TaskId, conversationId, user));
        Assert.Null(await Store.RequestCancelAsync(Ids.NewTaskId(conversationId), conversationId, user));
        Assert.Null(await Store.RequestCancelAsync(start.TaskId, "no-such-conversation", userId: null));

        // The next answer does not inherit a Stop aimed at the finished one.
        var (next, _) = await ClaimAsync(conversationId, user, "Next");
        Assert.False((await Store.FindActiveAnswerAsync(conversationId))!.CancelRequested);
        Assert.Equal(next.TaskId, (await Store.FindActiveAnswerAsync(conversationId))!.TaskId);
    }

    [Fact]
    public async Task FindAnswerReturnsTheStoredAnswerWithItsOwner()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var (start, claimed) = await ClaimAsync(conversationId, user, "Question");
        Assert.Null(await Store.FindAnswerAsync(conversationId, start.TaskId));
        await Store.CommitAnswerAsync(Answer(start, claimed, "Answer"));

        var stored = await Store.FindAnswerAsync(conversationId, start.TaskId);

        Assert.NotNull(stored);
        Assert.Equal(user, stored.UserId);
        Assert.Equal("Answer", stored.Message.Content);
        Assert.Equal(MessageStatus.Completed, stored.Message.Status);
        Assert.Null(await Store.FindAnswerAsync(conversationId, claimed.ParentId!));
        Assert.Null(await Store.FindAnswerAsync((await Store.CreateAsync(user)).Id, start.TaskId));
        Assert.Null(await Store.FindAnswerAsync(conversationId, Ids.NewTaskId(conversationId)));
    }

    [Fact]
    public async Task AStartSendsTheWholeHistoryWhateverTheNodesCacheHolds()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Q1", "A1");

        // Node b caches the conversation as it is now; node a goes on; node c has never seen it.
        var behind = await OpenNodeAsync("node-b");
        Assert.Equal(2, (await behind.Store.FindAsync(conversationId))!.Messages.Count);
        await AnswerAsync(conversationId, user, "Q2", "A2");

        var (start, claimed) = await ClaimAsync(conversationId, user, "Q3", node: behind);
        Assert.Equal(["Q1", "A1", "Q2", "A2", "Q3"], claimed.History!.Select(m => m.Content));
        Assert.Equal(claimed.History![3].Id, claimed.History[4].ParentId);
        Assert.Equal(AnswerCommitOutcome.Committed, await behind.Store.CommitAnswerAsync(Answer(start, claimed, "A3")));

        var fresh = await OpenNodeAsync("node-c");
        var (next, nextClaimed) = await ClaimAsync(conversationId, user, "Q4", node: fresh);
        Assert.Equal(["Q1", "A1", "Q2", "A2", "Q3", "A3", "Q4"], nextClaimed.History!.Select(m => m.Content));
        Assert.Equal(AnswerCommitOutcome.Committed, await fresh.Store.CommitAnswerAsync(Answer(next, nextClaimed, "A4")));

        // And node a, whose cache is two answers behind now, sends all of it too.
        var (last, lastClaimed) = await ClaimAsync(conversationId, user, "Q5");
        Assert.Equal(["Q1", "A1", "Q2", "A2", "Q3", "A3", "Q4", "A4", "Q5"], lastClaimed.History!.Select(m => m.Content));
        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(last, lastClaimed, "A5")));
        Assert.Equal(10, (await MessagesAsync(user, conversationId)).Count);
    }

    [Fact]
    public async Task ThePerAnswerCostStaysFlatAsTheConversationGrows()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        var read = StoreNode.CountMessageRowsRead();
        var statements = new List<long>();
        var rows = new List<long>();
        async Task AnswerMeasuredAsync(string question)
        {
            var (statementsBefore, rowsBefore) = (Node.Statements, read.Rows);
            var start = Ask(conversationId, user, question);
            var claimed = await Store.StartAnswerAsync(start);
            statements.Add(Node.Statements - statementsBefore);
            rows.Add(read.Rows - rowsBefore);
            Assert.Equal(AnswerStartOutcome.Claimed, claimed.Outcome);
            Assert.Equal(question, claimed.History![^1].Content);
            Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(start, claimed, $"Answer to {question}")));
        }

        for (var round = 0; round < 5; round++)
        {
            await AnswerMeasuredAsync($"Early question {round}");
        }

        // The conversation grows to 200 messages behind this node's back (another writer, straight into the tables).
        await GrowAsync(conversationId, 190);

        // This node notices the newer version and reads only the 190 newer messages, not all 200.
        var before = read.Rows;
        Assert.Equal(200, (await Store.FindAsync(conversationId))!.Messages.Count);
        Assert.Equal(190, read.Rows - before);

        // A node that never saw the conversation reads it whole, once: the counter sees what is read.
        var other = await OpenNodeAsync("node-b");
        before = read.Rows;
        var whole = (await other.Store.FindAsync(conversationId))!.Messages;
        Assert.Equal(200, read.Rows - before);

        for (var round = 0; round < 5; round++)
        {
            await AnswerMeasuredAsync($"Late question {round}");
        }

        // The first start read the (empty) history once; every later one reads no message rows at all and sends
        // the same statements, at 2 messages as at 210.
        Assert.All(rows, r => Assert.Equal(0, r));
        Assert.True(statements.Skip(1).Distinct().Count() == 1, $"statements per start: {string.Join(", ", statements)}");
        Assert.True(statements[^1] <= statements[0], $"statements per start: {string.Join(", ", statements)}");

        // The other node then reads only the ten newer messages, and sees what this node sees.
        before = read.Rows;
        var seen = (await other.Store.FindAsync(conversationId))!.Messages;
        Assert.Equal(10, read.Rows - before);
        Assert.Equal(210, seen.Count);
        Assert.Equal(Shape(whole), Shape(seen.Take(200)));
        Assert.Equal(Shape(seen), Shape((await Store.FindAsync(conversationId))!.Messages));

        before = read.Rows;
        var next = await other.Store.StartAnswerAsync(Ask(conversationId, user, "From the other node", node: other));
        Assert.Equal(211, next.History!.Count);
        Assert.Equal(0, read.Rows - before);
    }

    [Fact]
    public async Task ALeaseRenewalHandsBackTheClaimsItHolds()
    {
        var user = NewUser();
        var first = (await Store.CreateAsync(user)).Id;
        var second = (await Store.CreateAsync(user)).Id;
        Assert.Empty(await Node.Leases.RenewAsync(Node.InstanceId) ?? throw new Xunit.Sdk.XunitException("The lease is gone."));
        var (a, aClaim) = await ClaimAsync(first, user, "one");
        var (b, bClaim) = await ClaimAsync(second, user, "two");
        var elsewhere = await OpenNodeAsync("node-b");
        var otherUser = NewUser();
        await ClaimAsync((await elsewhere.Store.CreateAsync(otherUser)).Id, otherUser, "someone else's", node: elsewhere);

        var held = await Node.Leases.RenewAsync(Node.InstanceId);

        Assert.NotNull(held);
        Assert.Equal(
            new[] { new HeldClaimView(a.TaskId, aClaim.Fence, false), new HeldClaimView(b.TaskId, bClaim.Fence, false) }.OrderBy(c => c.TaskId),
            held.Select(c => new HeldClaimView(c.TaskId, c.Fence, c.CancelRequested)).OrderBy(c => c.TaskId));
        Assert.Null(await Node.Leases.RenewAsync("never-registered"));
    }

    [Fact]
    public async Task AbandonedClaimsAreThoseOfALapsedOrUnknownInstanceNeverOfALiveOne()
    {
        var user = NewUser();
        var stopped = Ids.NewMessageId();
        var stoppedSince = Stopwatch.StartNew();
        await Node.Leases.RegisterAsync(stopped, "node-frozen");
        var ofStopped = (await Store.CreateAsync(user)).Id;
        var ofUnknown = (await Store.CreateAsync(user)).Id;
        var ofLive = (await Store.CreateAsync(user)).Id;
        await ClaimAsync(ofStopped, user, "frozen", instance: stopped);
        await ClaimAsync(ofUnknown, user, "never leased", instance: "never-registered");
        await ClaimAsync(ofLive, user, "alive");
        var mine = new HashSet<string> { ofStopped, ofUnknown, ofLive };

        // Right away only the claim without any lease is abandoned.
        var early = (await Node.Leases.FindAbandonedAsync(TimeSpan.FromMinutes(1))).Where(a => mine.Contains(a.ConversationId));
        Assert.Equal([ofUnknown], early.Select(a => a.ConversationId));

        // The live instance renews; the frozen one does not, past a lease of 1 s on the database's clock.
        var timeout = TimeSpan.FromSeconds(1);
        while (stoppedSince.Elapsed < timeout + TimeSpan.FromMilliseconds(300))
        {
            Assert.NotNull(await Node.Leases.RenewAsync(Node.InstanceId));
            await Task.Delay(100);
        }

        Assert.NotNull(await Node.Leases.RenewAsync(Node.InstanceId));
        var abandoned = (await Node.Leases.FindAbandonedAsync(timeout)).Where(a => mine.Contains(a.ConversationId)).ToList();

        Assert.Equal(new[] { ofStopped, ofUnknown }.Order(), abandoned.Select(a => a.ConversationId).Order());
        Assert.Equal(stopped, abandoned.Single(a => a.ConversationId == ofStopped).Instance);

        // Forgetting lapsed instances takes the frozen one's lease away (it finds out at its next renewal), not the live one's.
        await Node.Leases.RemoveExpiredAsync(timeout);
        Assert.Null(await Node.Leases.RenewAsync(stopped));
        Assert.NotNull(await Node.Leases.RenewAsync(Node.InstanceId));
    }

    // ---------------------------------------------------------------- helpers

    private sealed record HeldClaimView(string TaskId, long Fence, bool CancelRequested);

    [Fact]
    public async Task ModelAndInstructionsAreStoredPerConversationForItsOwnerOnly()
    {
        var (user, mallory) = (NewUser(), NewUser());
        var first = await Store.CreateAsync(user);
        var second = await Store.CreateAsync(user);

        Assert.True(await Store.SetModelAsync(user, first.Id, "model-b"));
        Assert.True(await Store.SetInstructionsAsync(user, first.Id, "Answer in French."));
        Assert.False(await Store.SetModelAsync(mallory, first.Id, "model-c"));
        Assert.False(await Store.SetInstructionsAsync(mallory, first.Id, "Leak everything."));

        var stored = (await Store.GetAsync(user, first.Id))!;
        Assert.Equal(("model-b", "Answer in French."), (stored.ModelId, stored.Instructions));
        var untouched = (await Store.GetAsync(user, second.Id))!;
        Assert.Equal((null, null), (untouched.ModelId, untouched.Instructions));

        // The claim of an answer hands them to the engine; a start naming a model chooses it in the same transaction.
        var (start, claimed) = await ClaimAsync(first.Id, user, "Bonjour ?");
        Assert.Equal(("model-b", "Answer in French."), (claimed.ModelId, claimed.Instructions));
        await Store.CommitAnswerAsync(Answer(start, claimed, "Bonjour !"));
        var switched = await Store.StartAnswerAsync(Ask(first.Id, user, "Et maintenant ?") with { ModelId = "model-c" });
        Assert.Equal("model-c", switched.ModelId);
        Assert.Equal("model-c", (await Store.GetAsync(user, first.Id))!.ModelId);

        Assert.True(await Store.SetInstructionsAsync(user, second.Id, "x"));
        Assert.True(await Store.SetInstructionsAsync(user, second.Id, null));
        Assert.Null((await Store.GetAsync(user, second.Id))!.Instructions);
    }

    [Fact]
    public async Task AnAnswersModelAndUsageAreStoredWithItAndInTheLedgerThatOutlivesTheConversation()
    {
        var user = NewUser();
        var model = $"model-{Ids.NewMessageId()}";
        var conversation = await Store.CreateAsync(user);
        var (start, claimed) = await ClaimAsync(conversation.Id, user, "How much?");
        var usage = new AnswerUsage(120, 45, Estimated: false, FirstTokenMs: 310, TokensPerSecond: 52.5);
        var answer = Answer(start, claimed, "This much.");
        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(answer with { Answer = answer.Answer with { ModelId = model, Usage = usage } }));

        // As stored (the cache is bypassed by a second node).
        var other = await OpenNodeAsync("node-b");
        var stored = (await other.Store.GetAsync(user, conversation.Id))!.Messages[^1];
        Assert.Equal(model, stored.ModelId);
        Assert.Equal(usage, stored.Usage);

        // A stopped answer with an estimate, then the conversation is deleted: the ledger keeps both.
        var (stop, stopClaim) = await ClaimAsync(conversation.Id, user, "And now?");
        var stopped = Answer(stop, stopClaim, "Parti", MessageStatus.Cancelled);
        await Store.CommitAnswerAsync(stopped with { Answer = stopped.Answer with { ModelId = model, Usage = new AnswerUsage(200, 2, Estimated: true) } });
        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(user, conversation.Id));

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(120 + 45 + 200 + 2, await Node.Usage.TokensUsedAsync(user, today));
        var report = await Node.Usage.GetAsync(today.AddDays(-6), today, maxUsers: 1000);
        var byModel = Assert.Single(report.Models, m => m.ModelId == model);
        Assert.Equal(new ChatPortal.Core.Usage.UsageTotals(320, 47, Answers: 2, Stopped: 1, Failed: 0), byModel.Totals);
        var byUser = Assert.Single(report.Users, u => u.UserId == user);
        Assert.Equal(367, byUser.TokensToday);
        Assert.Equal(byModel.Totals, byUser.Totals);
        Assert.Contains(report.Days, d => d.Day == today && d.ModelId == model && d.Tokens == 367 && d.Answers == 2);
        Assert.True(report.Totals.Tokens >= 367);
    }

    [Fact]
    public async Task TheDailyQuotaIsCheckedWhenAnAnswerStartsAndStoresNothingWhenReached()
    {
        var user = NewUser();
        var conversation = await Store.CreateAsync(user);
        var (start, claimed) = await ClaimAsync(conversation.Id, user, "First");
        var answer = Answer(start, claimed, "Answer");
        await Store.CommitAnswerAsync(answer with { Answer = answer.Answer with { Usage = new AnswerUsage(30, 20, Estimated: false) } });

        // 50 used of 51: the next answer may start (a check at start, not a reservation).
        var second = Ask(conversation.Id, user, "Second") with { TokensPerDay = 51 };
        var under = await Store.StartAnswerAsync(second);
        Assert.Equal(AnswerStartOutcome.Claimed, under.Outcome);
        await Store.CommitAnswerAsync(Answer(second, under, "Second answer"));

        var messages = (await MessagesAsync(user, conversation.Id)).Count;
        var refused = await Store.StartAnswerAsync(Ask(conversation.Id, user, "Third") with { TokensPerDay = 50 });
        Assert.Equal(AnswerStartOutcome.QuotaExceeded, refused.Outcome);
        Assert.Equal(50, refused.TokensUsedToday);
        Assert.Equal(messages, (await MessagesAsync(user, conversation.Id)).Count);
        Assert.Null(await Store.FindActiveAnswerAsync(conversation.Id));

        // Another user's day is their own.
        var other = NewUser();
        var theirs = await Store.CreateAsync(other);
        Assert.Equal(AnswerStartOutcome.Claimed, (await Store.StartAnswerAsync(Ask(theirs.Id, other, "Mine") with { TokensPerDay = 50 })).Outcome);
    }

    [Fact]
    public async Task AGeneratedTitleReplacesOnlyTheTitleTakenFromTheQuestion()
    {
        var user = NewUser();
        var renamed = await Store.CreateAsync(user);
        var named = await Store.CreateAsync(user);
        await AnswerAsync(renamed.Id, user, "what is a fencing token", "A number.");
        await AnswerAsync(named.Id, user, "what is a lease", "A promise.");
        await Store.RenameAsync(user, renamed.Id, "My own name");

        var counter = Node.Services.GetRequiredService<DbStatementCounter>();
        var (statements, transactions, titleWrites) = (counter.Statements, counter.Transactions, counter.TitleWrites);
        Assert.False(await Store.ReplaceTitleAsync(renamed.Id, Conversation.TitleFrom("what is a fencing token"), "Fencing tokens"));
        Assert.True(await Store.ReplaceTitleAsync(named.Id, Conversation.TitleFrom("what is a lease"), "Leases explained"));

        // Each attempt is one statement in its own transaction, and counted apart as a title write too (the benchmark
        // takes them out of the answer path: a conversation is named once, not per answer).
        Assert.Equal((statements + 2, transactions + 2, titleWrites + 2), (counter.Statements, counter.Transactions, counter.TitleWrites));

        Assert.Equal("My own name", (await Store.GetAsync(user, renamed.Id))!.Title);
        Assert.Equal("Leases explained", (await Store.GetAsync(user, named.Id))!.Title);
    }

    /// <summary>What a message says and where it hangs (timestamps round to the provider's precision).</summary>
    private static List<(string Id, ChatRole Role, string Content, MessageStatus Status, string? ParentId)> Shape(IEnumerable<ChatMessage> messages) =>
        [.. messages.Select(m => (m.Id, m.Role, m.Content, m.Status, m.ParentId))];

    /// <summary>Appends question/answer pairs to a conversation directly in the tables, as another node's commits would.</summary>
    private async Task GrowAsync(string conversationId, int count)
    {
        await using var db = await Node.Contexts.CreateDbContextAsync();
        var version = await db.Conversations.Where(c => c.Id == conversationId).Select(c => c.Version).SingleAsync();
        var parentId = await db.Messages.Where(m => m.ConversationId == conversationId).OrderByDescending(m => m.Seq).Select(m => m.Id).FirstAsync();
        for (var i = 1; i <= count; i++)
        {
            var role = i % 2 == 1 ? ChatRole.User : ChatRole.Assistant;
            var id = Ids.NewMessageId();
            db.Messages.Add(new MessageRecord
            {
                Id = id,
                ConversationId = conversationId,
                ParentId = parentId,
                Seq = version + i,
                Role = role,
                Content = $"{role} message {i}",
                Status = MessageStatus.Completed,
                CreatedAt = DateTime.UtcNow,
            });
            parentId = id;
        }

        await db.SaveChangesAsync();
        await db.Conversations.Where(c => c.Id == conversationId).ExecuteUpdateAsync(s => s.SetProperty(c => c.Version, version + count).SetProperty(c => c.LeafId, parentId));
    }

    private static string NewUser() => $"user-{Ids.NewUserId()}";

    private async Task<StoreNode> OpenNodeAsync(string nodeId)
    {
        var node = await StoreNode.StartAsync(database.Settings, nodeId);
        _nodes.Add(node);
        return node;
    }

    private AnswerStart Ask(string conversationId, string userId, string? question, int limit = 10, StoreNode? node = null, string? instance = null)
    {
        node ??= Node;
        return new AnswerStart(Ids.NewTaskId(conversationId), conversationId, userId, node.NodeId, instance ?? node.InstanceId, DateTimeOffset.UtcNow, question, limit);
    }

    private Task<(AnswerStart Start, AnswerStartResult Claimed)> ClaimAsync(string conversationId, string userId, string? question, string branchFrom) =>
        ClaimAsync(Ask(conversationId, userId, question) with { BranchFrom = branchFrom });

    private async Task<(AnswerStart Start, AnswerStartResult Claimed)> ClaimAsync(AnswerStart start)
    {
        var result = await Store.StartAnswerAsync(start);
        Assert.Equal(AnswerStartOutcome.Claimed, result.Outcome);
        return (start, result);
    }

    private static AnswerCommit Answer(AnswerStart start, AnswerStartResult claimed, string text, MessageStatus status = MessageStatus.Completed) =>
        new(start.ConversationId, start.TaskId, claimed.Fence,
            new ChatMessage(start.TaskId, ChatRole.Assistant, text, status, DateTimeOffset.UtcNow, Tokens: 3, Node: start.Node, ParentId: claimed.ParentId));

    private async Task<(AnswerStart Start, AnswerStartResult Claimed)> ClaimAsync(
        string conversationId, string userId, string? question, int limit = 10, StoreNode? node = null, string? instance = null)
    {
        node ??= Node;
        var start = Ask(conversationId, userId, question, limit, node, instance);
        var result = await node.Store.StartAnswerAsync(start);
        Assert.Equal(AnswerStartOutcome.Claimed, result.Outcome);
        return (start, result);
    }

    private async Task AnswerAsync(string conversationId, string userId, string question, string answer)
    {
        var (start, claimed) = await ClaimAsync(conversationId, userId, question);
        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(start, claimed, answer)));
    }

    private async Task<IReadOnlyList<ChatMessage>> MessagesAsync(string userId, string conversationId) =>
        (await Store.GetAsync(userId, conversationId) ?? throw new Xunit.Sdk.XunitException($"Conversation {conversationId} not found."))
            .Messages;
}
