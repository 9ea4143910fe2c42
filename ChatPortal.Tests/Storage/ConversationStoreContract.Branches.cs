using ChatPortal.Core;
using ChatPortal.Core.Conversations;

namespace ChatPortal.Tests.Storage;

/// <summary>
/// Branches: an edited question and a regenerated answer are siblings of what they replace, nothing is removed, the
/// branch on screen is what the model is sent, and a branch start is one claim like any start.
/// </summary>
public abstract partial class ConversationStoreContract
{
    [Fact]
    public async Task RegeneratingAddsAnAnswerBesideThePreviousOneWhichStays()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        Assert.Equal(AnswerStartOutcome.NothingToRegenerate, (await Store.StartAnswerAsync(Ask(conversationId, user, question: null))).Outcome);
        Assert.Null(await Store.FindActiveAnswerAsync(conversationId));
        await AnswerAsync(conversationId, user, "Q1", "A1");
        await AnswerAsync(conversationId, user, "Q2", "A2");
        var before = await MessagesAsync(user, conversationId);

        var (regenerate, claimed) = await ClaimAsync(conversationId, user, question: null);

        // The branch the model is sent ends at the question; while the answer is written, that is the branch on screen.
        Assert.Equal(["Q1", "A1", "Q2"], claimed.History!.Select(m => m.Content));
        Assert.Equal(before[2].Id, claimed.ParentId);
        Assert.Equal(["Q1", "A1", "Q2"], (await MessagesAsync(user, conversationId)).Select(m => m.Content));

        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(regenerate, claimed, "A2 again")));
        var after = (await Store.GetAsync(user, conversationId))!;
        Assert.Equal(["Q1", "A1", "Q2", "A2 again"], after.Messages.Select(m => m.Content));
        Assert.Equal(before[2].Id, after.Messages[3].ParentId);
        Assert.Equal([before[3].Id, regenerate.TaskId], after.Tree.SiblingsOf(after.Messages[3]).Select(m => m.Id));
        Assert.Equal("A2", (await Store.FindAnswerAsync(conversationId, before[3].Id))!.Message.Content);

        // Any answer can be written again, not only the last: A1 gets a sibling, and the branch under it is hidden.
        var (again, againClaim) = await ClaimAsync(conversationId, user, question: null, branchFrom: before[1].Id);
        Assert.Equal(["Q1"], againClaim.History!.Select(m => m.Content));
        await Store.CommitAnswerAsync(Answer(again, againClaim, "A1 again"));
        Assert.Equal(["Q1", "A1 again"], (await MessagesAsync(user, conversationId)).Select(m => m.Content));

        // A node that never cached this conversation reads the same tree and branch from the tables.
        var other = await OpenNodeAsync("node-b");
        var seen = (await other.Store.GetAsync(user, conversationId))!;
        Assert.Equal(Shape(await MessagesAsync(user, conversationId)), Shape(seen.Messages));
        Assert.Equal(6, seen.Tree.All.Count);
    }

    [Fact]
    public async Task AnEditedQuestionIsANewBranchBesideTheOldOneAndTheModelIsSentOnlyItsBranch()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Q1", "A1");
        await AnswerAsync(conversationId, user, "Q2", "A2");
        await AnswerAsync(conversationId, user, "Q3", "A3");
        var original = await MessagesAsync(user, conversationId);

        var (edit, claimed) = await ClaimAsync(conversationId, user, "Q2 edited", branchFrom: original[2].Id);

        Assert.Equal(["Q1", "A1", "Q2 edited"], claimed.History!.Select(m => m.Content));
        Assert.Equal(original[1].Id, claimed.History![2].ParentId);
        Assert.Equal(claimed.History[2].Id, claimed.ParentId);
        await Store.CommitAnswerAsync(Answer(edit, claimed, "A2 edited"));
        var branched = (await Store.GetAsync(user, conversationId))!;
        Assert.Equal(["Q1", "A1", "Q2 edited", "A2 edited"], branched.Messages.Select(m => m.Content));
        Assert.Equal([original[2].Id, branched.Messages[2].Id], branched.Tree.SiblingsOf(branched.Messages[2]).Select(m => m.Id));
        Assert.Equal(8, branched.Tree.All.Count); // nothing removed: six, then the edited question and its answer

        // The first question can be edited too: a second root.
        var (first, firstClaim) = await ClaimAsync(conversationId, user, "Q1 edited", branchFrom: original[0].Id);
        Assert.Equal(["Q1 edited"], firstClaim.History!.Select(m => m.Content));
        Assert.Null(firstClaim.History![0].ParentId);
        await Store.CommitAnswerAsync(Answer(first, firstClaim, "A1 edited"));
        var roots = (await Store.GetAsync(user, conversationId))!;
        Assert.Equal(["Q1 edited", "A1 edited"], roots.Messages.Select(m => m.Content));
        Assert.Equal(2, roots.Tree.ChildrenOf(null).Count);
    }

    [Fact]
    public async Task SwitchingBranchShowsTheOtherVersionDownItsNewestMessagesAndTheNextQuestionFollowsIt()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Q1", "A1");
        await AnswerAsync(conversationId, user, "Q2", "A2");
        await AnswerAsync(conversationId, user, "Q3", "A3");
        var original = await MessagesAsync(user, conversationId);
        var (edit, claimed) = await ClaimAsync(conversationId, user, "Q2 edited", branchFrom: original[2].Id);
        await Store.CommitAnswerAsync(Answer(edit, claimed, "A2 edited"));
        var other = await OpenNodeAsync("node-b");
        Assert.Equal(4, (await other.Store.GetAsync(user, conversationId))!.Messages.Count); // cached on the other node

        Assert.Equal(HistoryChange.Done, await Store.SelectBranchAsync(user, conversationId, original[2].Id));

        Assert.Equal(["Q1", "A1", "Q2", "A2", "Q3", "A3"], (await MessagesAsync(user, conversationId)).Select(m => m.Content));
        Assert.Equal(["Q1", "A1", "Q2", "A2", "Q3", "A3"], (await other.Store.GetAsync(user, conversationId))!.Messages.Select(m => m.Content));

        // A new question follows the branch on screen, and the model is sent that branch.
        var (_, next) = await ClaimAsync(conversationId, user, "Q4", node: other);
        Assert.Equal(["Q1", "A1", "Q2", "A2", "Q3", "A3", "Q4"], next.History!.Select(m => m.Content));
        Assert.Equal(original[5].Id, next.History![6].ParentId);
    }

    [Fact]
    public async Task SwitchingIsRefusedWhileAnAnswerRunsAndForUnknownMessagesOrAnotherUser()
    {
        var (user, mallory) = (NewUser(), NewUser());
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Q1", "A1");
        var (regenerate, claimed) = await ClaimAsync(conversationId, user, question: null);
        var first = (await Store.FindAsync(conversationId))!.Tree.All.Single(m => m.Content == "A1");

        Assert.Equal(HistoryChange.AnswerRunning, await Store.SelectBranchAsync(user, conversationId, first.Id));
        await Store.CommitAnswerAsync(Answer(regenerate, claimed, "A1 again"));

        Assert.Equal(HistoryChange.NotFound, await Store.SelectBranchAsync(user, conversationId, "no-such-message"));
        Assert.Equal(HistoryChange.NotFound, await Store.SelectBranchAsync(mallory, conversationId, first.Id));
        Assert.Equal(HistoryChange.NotFound, await Store.SelectBranchAsync(user, "no-such-conversation", first.Id));
        Assert.Equal(["Q1", "A1 again"], (await MessagesAsync(user, conversationId)).Select(m => m.Content));
        Assert.Equal(HistoryChange.Done, await Store.SelectBranchAsync(user, conversationId, first.Id));
        Assert.Equal(["Q1", "A1"], (await MessagesAsync(user, conversationId)).Select(m => m.Content));
    }

    [Fact]
    public async Task ABranchFromSomethingThatIsNotAQuestionOrAnAnswerOfTheConversationStartsNothing()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Q1", "A1");
        var messages = await MessagesAsync(user, conversationId);
        var elsewhere = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(elsewhere, user, "Elsewhere", "Not here");
        var foreign = (await MessagesAsync(user, elsewhere))[0].Id;

        foreach (var (question, branchFrom) in new (string?, string)[]
        {
            ("edit of an answer", messages[1].Id),
            ("edit of another conversation's question", foreign),
            ("edit of nothing", Ids.NewMessageId()),
            (null, messages[0].Id), // regenerate a question
            (null, "nothing"),
        })
        {
            var result = await Store.StartAnswerAsync(Ask(conversationId, user, question) with { BranchFrom = branchFrom });
            Assert.Equal(AnswerStartOutcome.MessageNotFound, result.Outcome);
        }

        // Nothing stored, nothing claimed: the conversation answers the next start as before.
        Assert.Null(await Store.FindActiveAnswerAsync(conversationId));
        Assert.Equal(2, (await Store.FindAsync(conversationId))!.Tree.All.Count);
        var (_, next) = await ClaimAsync(conversationId, user, "Q2");
        Assert.Equal(["Q1", "A1", "Q2"], next.History!.Select(m => m.Content));
    }

    [Fact]
    public async Task ABranchStartAndAPlainStartAtOnceClaimTheConversationExactlyOnce()
    {
        var user = NewUser();
        for (var round = 0; round < 6; round++)
        {
            var conversationId = (await Store.CreateAsync(user)).Id;
            await AnswerAsync(conversationId, user, "Q1", "A1");
            var question = (await MessagesAsync(user, conversationId))[0].Id;
            var starts = new[] { Ask(conversationId, user, "Q1 edited") with { BranchFrom = question }, Ask(conversationId, user, "Q2") };

            var results = await Task.WhenAll(starts.Select(s => Task.Run(() => Store.StartAnswerAsync(s))));

            var winner = Assert.Single(results, r => r.Outcome == AnswerStartOutcome.Claimed);
            Assert.Single(results, r => r.Outcome == AnswerStartOutcome.AnswerRunning);
            Assert.Equal(3, (await Store.FindAsync(conversationId))!.Tree.All.Count);
            Assert.Equal(starts[Array.IndexOf(results, winner)].TaskId, (await Store.FindActiveAnswerAsync(conversationId))!.TaskId);
        }
    }

    [Fact]
    public async Task AnAbandonedRegenerationIsRecordedFailedUnderItsQuestionNotUnderTheOlderAnswer()
    {
        var user = NewUser();
        var conversationId = (await Store.CreateAsync(user)).Id;
        await AnswerAsync(conversationId, user, "Q1", "A1");
        var (regenerate, _) = await ClaimAsync(conversationId, user, question: null);
        var abandoned = (await Store.FindActiveAnswerAsync(conversationId))!;

        Assert.True(await Node.Database.ReleaseAbandonedAsync(abandoned, "Its node died."));

        var messages = await MessagesAsync(user, conversationId);
        Assert.Equal(["Q1", ""], messages.Select(m => m.Content));
        Assert.Equal((regenerate.TaskId, MessageStatus.Failed, messages[0].Id), (messages[1].Id, messages[1].Status, messages[1].ParentId));
    }
}
