using System.Runtime.CompilerServices;
using ChatPortal.Components.Pages.Chat;
using ChatPortal.Core;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;
using ChatPortal.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ChatMessage = ChatPortal.Core.Conversations.ChatMessage;
using ChatRole = ChatPortal.Core.Conversations.ChatRole;

namespace ChatPortal.Tests.Unit;

/// <summary>
/// The chat page's state without a renderer: a real engine and store (SQLite in a temp directory), a model the test
/// steers, and the notices the page would show.
/// </summary>
public sealed class ChatSessionTests : IAsyncDisposable
{
    private const string Alice = "alice";

    /// <summary>A safety net so a broken session fails the test instead of hanging it; not a timing assertion.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("chatportal-session-");
    private readonly SteeredModel _model = new();
    private readonly Limiter _limiter = new();
    private readonly ServiceProvider _services;
    private readonly List<ChatSession> _sessions = [];

    public ChatSessionTests()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ChatPortal:DataDirectory"] = _dataDirectory.FullName,
            ["ChatPortal:Model:GenerateTitles"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<IConfiguration>(config);
        services.AddChatPortalCore(_ => "node-test");
        services.AddSingleton<IChatClient>(_model);
        services.AddSingleton<IMessageLimiter>(_limiter);
        services.AddSingleton<IHttpContextAccessor, HttpContextAccessor>();
        services.AddScoped<PageMessageLimits>();
        services.AddScoped<ChatNotices>();
        services.AddTransient<ChatSession>();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        _services.GetRequiredService<Core.Ownership.LeaseKeeper>().StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    private IConversationStore Store => _services.GetRequiredService<IConversationStore>();

    private ChatNotices Notices => _services.GetRequiredService<ChatNotices>();

    [Fact]
    public async Task SendingShowsTheQuestionThenTheAnswerAsItStreamsThenTheStoredAnswer()
    {
        var session = await OpenNewAsync();
        var changes = 0;
        session.Changed += () => changes++;

        await session.SendAsync("Hello?");

        Assert.True(session.IsAnswering);
        Assert.Equal("Writing an answer…", session.Announcement);
        var question = Assert.Single(session.Messages);
        Assert.Equal((ChatRole.User, "Hello?"), (question.Role, question.Content));
        Assert.False(session.CanClear); // the rule: no clearing while an answer runs

        _model.Say("Hi ");
        await WaitUntilAsync(() => session.Streaming?.Text == "Hi ");
        _model.Say("there.");
        _model.Finish();
        await session.Following.WaitAsync(Patience);

        Assert.Null(session.Streaming);
        Assert.Equal("Answer complete", session.Announcement);
        Assert.Equal(["Hello?", "Hi there."], session.Messages.Select(m => m.Content));
        Assert.Equal(MessageStatus.Completed, session.Messages[^1].Status);
        Assert.True(session.CanClear);
        Assert.True(changes > 0);
        Assert.Null(Notices.Problem);
    }

    [Fact]
    public async Task StopEndsTheAnswerCancelledAndKeepsItsPartialText()
    {
        var session = await OpenNewAsync();
        await session.SendAsync("Tell me a long story");
        _model.Say("Once upon");
        await WaitUntilAsync(() => session.Streaming?.Text == "Once upon");

        await session.StopAsync();
        await session.Following.WaitAsync(Patience);

        Assert.Null(session.Streaming);
        Assert.False(session.Stopping);
        Assert.Equal("Answer stopped", session.Announcement);
        var answer = session.Messages[^1];
        Assert.Equal(("Once upon", MessageStatus.Cancelled), (answer.Content, answer.Status));
    }

    [Fact]
    public async Task ClearingAndSwitchingBranchWaitForTheRunningAnswerWithOneNotice()
    {
        var session = await OpenNewAsync();
        await session.SendAsync("First");
        Assert.True(session.IsAnswering);

        await session.ClearAsync();

        Assert.Equal(RunningAnswerRule.Refusal(HistoryEdit.Clear), Notices.Problem?.Text);
        Assert.Equal("refused", Notices.Problem?.Kind);
        Assert.Single(await MessagesAsync(session));

        await session.SwitchBranchAsync(session.Messages[0].Id);

        Assert.Equal(RunningAnswerRule.Refusal(HistoryEdit.SwitchBranch), Notices.Problem?.Text);
        Assert.False(session.CanSwitchBranch);
        await FinishAsync(session);
        Assert.True(session.CanSwitchBranch);
    }

    [Fact]
    public async Task AClearTheStoreRefusesBecauseAnotherTabStartedAnAnswerIsSaidAndFollowed()
    {
        var session = await OpenAsync((await Store.CreateAsync(Alice)).Id, attach: false);
        var other = await OpenAsync(session.Conversation!.Id, attach: false);
        await other.SendAsync("From the other tab");
        Assert.False(session.IsAnswering); // this page never heard of it (a lost event)

        await session.ClearAsync();

        Assert.Equal(RunningAnswerRule.Refusal(HistoryEdit.Clear), Notices.Problem?.Text);
        Assert.True(session.IsAnswering); // the store said an answer runs: the page now shows it
        Assert.Single(await MessagesAsync(session));
        _model.Finish();
        await session.Following.WaitAsync(Patience);
        await other.Following.WaitAsync(Patience);
    }

    [Fact]
    public async Task ClearingWhenIdleEmptiesTheHistory()
    {
        var session = await OpenNewAsync();
        await session.SendAsync("Something");
        await FinishAsync(session);

        await session.ClearAsync();

        Assert.Empty(session.Messages);
        Assert.Empty(await MessagesAsync(session));
        Assert.Null(Notices.Problem);
    }

    [Fact]
    public async Task EditingAQuestionMakesABranchAndSwitchingShowsTheOldOneAgain()
    {
        var session = await OpenNewAsync();
        await session.SendAsync("Original");
        await FinishAsync(session, "Answer one");
        var original = session.Messages[0];

        await session.EditAsync(new QuestionEdit(original.Id, "Edited"));
        await FinishAsync(session, "Answer two");

        Assert.Equal(["Edited", "Answer two"], session.Messages.Select(m => m.Content));
        var tree = session.Conversation!.Tree;
        Assert.Equal(2, BranchPosition.Of(session.Messages[0], tree)!.Count);

        await session.SwitchBranchAsync(original.Id);

        Assert.Equal(["Original", "Answer one"], session.Messages.Select(m => m.Content));
        Assert.Null(Notices.Problem);
    }

    [Fact]
    public async Task RegenerateWritesASecondAnswerBesideTheFirst()
    {
        var session = await OpenNewAsync();
        await session.SendAsync("Question");
        await FinishAsync(session, "First answer");

        await session.RegenerateAsync();
        await FinishAsync(session, "Second answer");

        Assert.Equal(["Question", "Second answer"], session.Messages.Select(m => m.Content));
        Assert.Equal(2, BranchPosition.Of(session.Messages[1], session.Conversation!.Tree)!.Count);
    }

    [Fact]
    public async Task AMessageOverTheLimitIsNotSentAndGoesBackToTheComposer()
    {
        var session = await OpenNewAsync();
        var unsent = new List<string>();
        session.Unsent += unsent.Add;
        _limiter.Refuse = true;

        await session.SendAsync("Too fast");

        Assert.Equal(["Too fast"], unsent);
        Assert.Equal("limit", Notices.Problem?.Kind);
        Assert.Contains("wait 12 s", Notices.Problem?.Text);
        Assert.False(session.IsAnswering);
        Assert.Empty(await MessagesAsync(session));
    }

    [Fact]
    public async Task ASecondSendWhileAnAnswerRunsElsewhereIsRefusedKeptAndFollowed()
    {
        var session = await OpenNewAsync();
        var other = await OpenAsync(session.Conversation!.Id, attach: false);
        await other.SendAsync("First");
        var unsent = new List<string>();
        session.Unsent += unsent.Add;

        await session.SendAsync("Second");

        Assert.Equal(["Second"], unsent);
        Assert.Equal("An answer is already being written in this conversation.", Notices.Problem?.Text);
        Assert.Equal(other.Streaming!.TaskId, session.Streaming?.TaskId);
        _model.Finish();
        await session.Following.WaitAsync(Patience);
        Assert.Equal(["First", ""], session.Messages.Select(m => m.Content));
    }

    [Fact]
    public async Task AnAnswerStartedInAnotherTabShowsUpHereAndEndsHere()
    {
        var session = await OpenNewAsync();
        var other = await OpenAsync(session.Conversation!.Id, attach: false);

        await other.SendAsync("From the other tab");
        await WaitUntilAsync(() => session.IsAnswering);
        _model.Say("Seen here too");
        await WaitUntilAsync(() => session.Messages.Count == 1); // caught up with the question once the first words came
        _model.Finish();
        await WaitUntilAsync(() => !session.IsAnswering);

        Assert.Equal(["From the other tab", "Seen here too"], session.Messages.Select(m => m.Content));
        Assert.Equal("Answer complete", session.Announcement);
    }

    [Fact]
    public async Task AnUnknownConversationIsNotFoundAndAnotherUsersToo()
    {
        var bobs = await Store.CreateAsync("bob");

        var unknown = await OpenAsync("c-does-not-exist");
        var foreign = await OpenAsync(bobs.Id);

        Assert.True(unknown.NotFound);
        Assert.True(foreign.NotFound);
        Assert.Empty(foreign.Messages);
    }

    [Fact]
    public async Task InstructionsSavedAreConfirmedOnceAndKept()
    {
        var session = await OpenNewAsync();
        var confirmed = new List<ChatNotice>();
        Notices.Confirmed += confirmed.Add;

        await session.SaveInstructionsAsync("Answer in French.");

        Assert.Equal("Answer in French.", session.Conversation!.Instructions);
        Assert.Equal("Answer in French.", (await Store.GetAsync(Alice, session.Conversation.Id))!.Instructions);
        Assert.Equal(NoticeLevel.Confirmation, Assert.Single(confirmed).Level);
        Assert.Null(Notices.Problem);
    }

    [Fact]
    public async Task AStoreFailureIsOneErrorNoticeAndTheQuestionIsKept()
    {
        var session = await OpenNewAsync();
        var unsent = new List<string>();
        session.Unsent += unsent.Add;
        _limiter.Throw = true;

        await session.SendAsync("Lost?");

        Assert.Equal(NoticeLevel.Error, Notices.Problem?.Level);
        Assert.Equal("The message could not be sent. Try again in a moment.", Notices.Problem?.Text);
        Assert.Equal(["Lost?"], unsent);

        _limiter.Throw = false;
        await session.SendAsync("Again");
        Assert.Null(Notices.Problem); // a new action closes the old problem
        await FinishAsync(session);
    }

    [Fact]
    public async Task WhileAnotherConversationLoadsNothingOfTheOneLeftCanBeSentTo()
    {
        var session = await OpenNewAsync();
        await session.SendAsync("In the first conversation");
        _model.Finish();
        await session.Following.WaitAsync(Patience);
        var first = session.Conversation!.Id;
        var second = (await Store.CreateAsync(Alice)).Id;

        // The page's list refresh is the first thing an open waits for: held here, the open is half-way.
        var listRefreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.RefreshList = () => listRefreshed.Task;
        var opening = session.OpenAsync(second);

        Assert.False(opening.IsCompleted);
        Assert.Null(session.Conversation); // the composer is disabled without one
        Assert.Empty(session.Messages);

        listRefreshed.SetResult();
        await opening.WaitAsync(Patience);
        Assert.Equal(second, session.Conversation!.Id);
        Assert.Equal(2, (await Store.GetAsync(Alice, first))!.Messages.Count);
    }

    private async Task<ChatSession> OpenNewAsync() => await OpenAsync((await Store.CreateAsync(Alice)).Id);

    private async Task<ChatSession> OpenAsync(string conversationId, bool attach = true)
    {
        var session = _services.GetRequiredService<ChatSession>();
        _sessions.Add(session);
        if (attach)
        {
            session.Attach(Alice);
        }
        else
        {
            session.UserId = Alice; // hears no events: as if they were lost
        }

        await session.OpenAsync(conversationId);
        return session;
    }

    private async Task FinishAsync(ChatSession session, string text = "Done.")
    {
        _model.Say(text);
        _model.Finish();
        await session.Following.WaitAsync(Patience);
        Assert.False(session.IsAnswering);
    }

    private async Task<IReadOnlyList<ChatMessage>> MessagesAsync(ChatSession session) =>
        (await Store.GetAsync(Alice, session.Conversation!.Id))!.Messages;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions)
        {
            session.Dispose();
        }

        _model.Finish();
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dataDirectory.Delete(recursive: true);
    }

    /// <summary>A model whose answer is written by the test: <see cref="Say"/> a few words, then <see cref="Finish"/>.</summary>
    private sealed class SteeredModel : IChatClient
    {
        private System.Threading.Channels.Channel<string?> _words = System.Threading.Channels.Channel.CreateUnbounded<string?>();
        private readonly Lock _gate = new();

        public void Say(string text) => Current.Writer.TryWrite(text);

        /// <summary>Ends the answer being written; the next answer starts from a new script.</summary>
        public void Finish() => Current.Writer.TryComplete();

        private System.Threading.Channels.Channel<string?> Current
        {
            get
            {
                lock (_gate)
                {
                    return _words;
                }
            }
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.Assistant, "Title")));

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            System.Threading.Channels.Channel<string?> words;
            lock (_gate)
            {
                words = _words;
            }

            await foreach (var word in words.Reader.ReadAllAsync(cancellationToken))
            {
                yield return new ChatResponseUpdate(Microsoft.Extensions.AI.ChatRole.Assistant, word);
            }

            lock (_gate)
            {
                if (ReferenceEquals(words, _words))
                {
                    _words = System.Threading.Channels.Channel.CreateUnbounded<string?>();
                }
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class Limiter : IMessageLimiter
    {
        public bool Refuse { get; set; }

        public bool Throw { get; set; }

        public Task<LimitDecision> TryAcquireAsync(string userId, string clientAddress) =>
            Throw ? throw new InvalidOperationException("The counters are away.")
            : Task.FromResult(Refuse ? new LimitDecision(false, TimeSpan.FromSeconds(12), "Too many.") : LimitDecision.Allow);
    }
}
