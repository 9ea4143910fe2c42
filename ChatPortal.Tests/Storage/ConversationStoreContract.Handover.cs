using ChatPortal.Core.Conversations;
using ChatPortal.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Storage;

/// <summary>Handing an anonymous user's conversations to the account they signed in to.</summary>
public abstract partial class ConversationStoreContract
{
    private IConversationHandover Handover => Node.Services.GetRequiredService<IConversationHandover>();

    [Fact]
    public async Task AHandoverMovesEveryConversationARunningAnswerAndTheDaysUsageToTheNewUser()
    {
        var (anonymous, account, bystander) = (NewUser(), await NewAccountAsync(), NewUser());
        var answered = (await Store.CreateAsync(anonymous)).Id;
        var (first, firstClaim) = await ClaimAsync(answered, anonymous, "Question");
        var firstAnswer = Answer(first, firstClaim, "Answer");
        await Store.CommitAnswerAsync(firstAnswer with { Answer = firstAnswer.Answer with { Usage = new AnswerUsage(30, 20, Estimated: false) } });
        var running = (await Store.CreateAsync(anonymous)).Id;
        var (start, claimed) = await ClaimAsync(running, anonymous, "Still answering");
        var deleted = (await Store.CreateAsync(anonymous)).Id;
        Assert.Equal(HistoryChange.Done, await Store.DeleteAsync(anonymous, deleted));
        var others = (await Store.CreateAsync(bystander)).Id;
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(50, await Node.Usage.TokensUsedAsync(anonymous, today));

        Assert.Equal(3, await Handover.HandOverAsync(anonymous, account));

        Assert.Empty(await Store.ListAsync(anonymous));
        Assert.Null(await Store.GetAsync(anonymous, answered));
        Assert.Equal([running, answered], (await Store.ListAsync(account)).Select(c => c.Id));
        Assert.Equal(2, (await Store.GetAsync(account, answered))!.Messages.Count);
        Assert.Equal(account, (await Store.FindActiveAnswerAsync(running))!.UserId);
        Assert.Equal(AnswerCommitOutcome.Committed, await Store.CommitAnswerAsync(Answer(start, claimed, "Done")));
        Assert.NotNull(await Store.RestoreAsync(account, deleted)); // the undo window goes with it
        Assert.Equal(50, await Node.Usage.TokensUsedAsync(account, today));
        Assert.Equal(0, await Node.Usage.TokensUsedAsync(anonymous, today));
        Assert.Equal([others], (await Store.ListAsync(bystander)).Select(c => c.Id));
    }

    [Fact]
    public async Task AHandoverToAnAccountWithConversationsKeepsThemAndOneFromNobodyOrToItselfChangesNothing()
    {
        var (anonymous, account) = (NewUser(), await NewAccountAsync());
        var own = (await Store.CreateAsync(account)).Id;
        var brought = (await Store.CreateAsync(anonymous)).Id;

        Assert.Equal(0, await Handover.HandOverAsync(NewUser(), account));
        Assert.Equal(0, await Handover.HandOverAsync(account, account));
        Assert.Equal(1, await Handover.HandOverAsync(anonymous, account));

        Assert.Equal([brought, own], (await Store.ListAsync(account)).Select(c => c.Id));
        var conversation = await Store.CreateAsync(account); // the account's row exists: starts work as for any user
        await AnswerAsync(conversation.Id, account, "Hello", "Hi");
    }

    [Fact]
    public async Task AHandoverMovesOnlyAnAnonymousUsersConversationsAndOnlyToAnAccount()
    {
        var (anonymous, account, other) = (NewUser(), await NewAccountAsync(), await NewAccountAsync());
        var anonymousOwn = (await Store.CreateAsync(anonymous)).Id;
        var accountOwn = (await Store.CreateAsync(account)).Id;

        Assert.Equal(0, await Handover.HandOverAsync(account, other)); // an account's conversations never move
        Assert.Equal(0, await Handover.HandOverAsync(anonymous, NewUser())); // nor to a user that is not an account
        Assert.Equal(0, await Handover.HandOverAsync(account, anonymous));

        Assert.Equal([accountOwn], (await Store.ListAsync(account)).Select(c => c.Id));
        Assert.Equal([anonymousOwn], (await Store.ListAsync(anonymous)).Select(c => c.Id));
        Assert.Empty(await Store.ListAsync(other));
    }

    /// <summary>An account's row, as Identity stores one (a user name is what makes a user an account).</summary>
    private async Task<string> NewAccountAsync()
    {
        var id = NewUser();
        await using var db = await Node.Contexts.CreateDbContextAsync();
        db.Users.Add(new UserRecord { Id = id, UserName = id, NormalizedUserName = id.ToUpperInvariant(), SecurityStamp = Guid.NewGuid().ToString("N"), CreatedAt = DateTime.UtcNow, LastActiveAt = DateTime.UtcNow });
        await db.SaveChangesAsync();
        return id;
    }
}
