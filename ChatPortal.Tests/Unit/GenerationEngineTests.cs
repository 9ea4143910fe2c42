using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using ChatPortal.Core;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ChatMessage = ChatPortal.Core.Conversations.ChatMessage;
using ChatRole = ChatPortal.Core.Conversations.ChatRole;

namespace ChatPortal.Tests.Unit;

public sealed class GenerationEngineTests : IAsyncDisposable
{
    private const string Alice = "alice";
    private const string Mallory = "mallory";

    /// <summary>A safety net so a broken engine fails the test instead of hanging it; not a timing assertion.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("chatportal-engine-");
    private ServiceProvider? _services;

    private GenerationEngine Engine => _services!.GetRequiredService<GenerationEngine>();

    private IConversationStore Store => _services!.GetRequiredService<IConversationStore>();

    [Fact]
    public async Task AnAnswerThatRunsToItsEndIsStoredCompleted()
    {
        Build(TestChatClient.Yielding("Hello", ", ", "world"));
        var ended = new TaskCompletionSource<TaskLifecycleEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = _services!.GetRequiredService<TaskLifecycleEvents>()
            .Subscribe(e => { if (e.Kind == TaskLifecycleKind.Ended) { ended.TrySetResult(e); } });
        var conversationId = await NewConversationAsync();

        var task = await StartAsync(conversationId, "Say hello");
        var final = await task.Completion.WaitAsync(Patience);

        Assert.Equal(GenerationStatus.Completed, final.Status);
        Assert.Null(final.Reason);
        var messages = await MessagesAsync(conversationId);
        Assert.Collection(
            messages,
            user =>
            {
                Assert.Equal(ChatRole.User, user.Role);
                Assert.Equal("Say hello", user.Content);
            },
            answer =>
            {
                Assert.Equal(task.Id, answer.Id);
                Assert.Equal(ChatRole.Assistant, answer.Role);
                Assert.Equal("Hello, world", answer.Content);
                Assert.Equal(MessageStatus.Completed, answer.Status);
                Assert.Equal(3, answer.Tokens);
                Assert.Equal("node-test", answer.Node);
            });
        var evt = await ended.Task.WaitAsync(Patience);
        Assert.Equal(task.Id, evt.Info.TaskId);
        Assert.Equal(GenerationStatus.Completed, evt.Status);
        Assert.Null(Engine.LocalTasks.Find(task.Id));
    }

    [Fact]
    public async Task CancelKeepsThePartialTextAndStoresTheAnswerAsCancelled()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Partial", " answer"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Tell me a long story");
        await streamed.Task.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, Alice);

        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Cancelled, cancel.Status);
        Assert.Equal("node-test", cancel.OwnerNode);
        var final = await task.Completion.WaitAsync(Patience);
        Assert.Equal(GenerationStatus.Cancelled, final.Status);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal("Partial answer", answer.Content);
        Assert.Equal(MessageStatus.Cancelled, answer.Status);
        Assert.Equal(2, answer.Tokens);
    }

    [Fact]
    public async Task TheStoredTextOfAStoppedAnswerIsExactlyTheTextStreamedBeforeStop()
    {
        Build(settings: new()
        {
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "200",
            ["ChatPortal:Model:Simulated:ResponseTokens"] = "5000",
            ["ChatPortal:Model:Simulated:FirstTokenDelayMs"] = "0",
        });
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Explain streaming");

        var seen = new StringBuilder();
        var deltas = 0;
        TaskEnded? end = null;
        Task<CancelResult>? cancel = null;
        using var timeout = new CancellationTokenSource(Patience);
        await foreach (var item in Engine.FollowAsync(task.Info, timeout.Token))
        {
            switch (item)
            {
                case TaskDelta delta:
                    seen.Append(delta.Text);
                    if (++deltas == 5)
                    {
                        cancel = Engine.CancelAsync(task.Id, Alice);
                    }

                    break;
                case TaskEnded ended:
                    end = ended;
                    break;
            }
        }

        Assert.NotNull(cancel);
        Assert.Equal(GenerationStatus.Cancelled, (await cancel).Status);
        Assert.Equal(GenerationStatus.Cancelled, end?.Status);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal(MessageStatus.Cancelled, answer.Status);
        Assert.Equal(seen.ToString(), answer.Content);
        var full = string.Concat(SimulatedChatClient.Tokenize(SimulatedChatClient.Compose("Explain streaming", 5000), 5000));
        Assert.StartsWith(answer.Content, full, StringComparison.Ordinal);
        Assert.True(answer.Content.Length < full.Length, "The stopped answer should be shorter than the full answer.");
    }

    [Fact]
    public async Task CancelBeforeTheFirstTokenEndsCancelledWithNoText()
    {
        // The simulated model "thinks" for 60 s before its first token.
        Build(settings: new() { ["ChatPortal:Model:Simulated:FirstTokenDelayMs"] = "60000" });
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Think hard");

        var cancel = await Engine.CancelAsync(task.Id, Alice);

        // Stopped (not Pending) means the owner confirmed within the 2 s confirm window, long before the
        // 60 s first token: the cancel cut the model's wait short instead of waiting for a token.
        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Cancelled, cancel.Status);
        Assert.Equal(GenerationStatus.Cancelled, task.Status);
        Assert.Equal("", task.Text);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal(MessageStatus.Cancelled, answer.Status);
        Assert.Equal("", answer.Content);
        Assert.Equal(0, answer.Tokens);
    }

    [Fact]
    public async Task CancelWhileTheModelWaitsForItsFirstTokenEndsCancelledWithNoText()
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(
            settings: new() { ["ChatPortal:Model:Simulated:FirstTokenDelayMs"] = "60000" },
            configure: s => s.AddSingleton<IChatClient>(sp => new SignalsWhenWaiting(ActivatorUtilities.CreateInstance<SimulatedChatClient>(sp), waiting)));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Think hard");
        await waiting.Task.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, Alice);

        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Cancelled, cancel.Status);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal(MessageStatus.Cancelled, answer.Status);
        Assert.Equal("", answer.Content);
    }

    [Fact]
    public async Task ASecondStartInTheSameConversationAnswersAlreadyRunning()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Working"));
        var conversationId = await NewConversationAsync();
        var first = await StartAsync(conversationId, "First question");

        var second = await Engine.StartAsync(Alice, conversationId, "Second question");

        Assert.Equal(StartOutcome.AlreadyRunning, second.Outcome);
        Assert.Null(second.Task);
        Assert.Equal(first.Id, second.RunningTask?.TaskId);
        Assert.Equal(GenerationStatus.Running, first.Status);
        Assert.DoesNotContain(await MessagesAsync(conversationId), m => m.Content == "Second question");
        Assert.Single(Engine.LocalTasks.All);
    }

    [Fact]
    public async Task TheConversationTakesANewQuestionOnceItsAnswerEnded()
    {
        Build(TestChatClient.Yielding("Done"));
        var conversationId = await NewConversationAsync();
        var first = await StartAsync(conversationId, "First question");
        await first.Completion.WaitAsync(Patience);

        var second = await Engine.StartAsync(Alice, conversationId, "Second question");

        Assert.Equal(StartOutcome.Started, second.Outcome);
        await second.Task!.Completion.WaitAsync(Patience);
        Assert.Equal(4, (await MessagesAsync(conversationId)).Count);
    }

    [Fact]
    public async Task TwoConversationsGenerateAtTheSameTime()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Working"));

        var first = await Engine.StartAsync(Alice, await NewConversationAsync(), "One");
        var second = await Engine.StartAsync(Alice, await NewConversationAsync(), "Two");

        Assert.Equal(StartOutcome.Started, first.Outcome);
        Assert.Equal(StartOutcome.Started, second.Outcome);
        Assert.Equal(2, Engine.LocalTasks.Count);
    }

    [Fact]
    public async Task StartInAConversationOfAnotherUserIsNotFound()
    {
        Build(TestChatClient.Yielding("Secret"));
        var conversationId = await NewConversationAsync();

        var result = await Engine.StartAsync(Mallory, conversationId, "Let me in");

        Assert.Equal(StartOutcome.ConversationNotFound, result.Outcome);
        Assert.Empty(await MessagesAsync(conversationId));
    }

    [Fact]
    public async Task ASecondCancelAnswersWithTheFinalState()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Some text"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await streamed.Task.WaitAsync(Patience);

        var first = await Engine.CancelAsync(task.Id, Alice);
        var second = await Engine.CancelAsync(task.Id, Alice);

        Assert.Equal(new CancelResult(CancelOutcome.Stopped, task.Id, GenerationStatus.Cancelled, "node-test"), first);
        Assert.Equal(first, second);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal(MessageStatus.Cancelled, answer.Status);
        Assert.Equal("Some text", answer.Content);
    }

    [Fact]
    public async Task CancelOfAFinishedTaskAnswersWithItsFinalState()
    {
        Build(TestChatClient.Yielding("All", " done"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await task.Completion.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, Alice);

        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Completed, cancel.Status);
        Assert.Equal("node-test", cancel.OwnerNode);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal(MessageStatus.Completed, answer.Status);
        Assert.Equal("All done", answer.Content);
    }

    [Fact]
    public async Task CancelOfAFailedTaskAnswersFailed()
    {
        Build(Throws(new InvalidOperationException("boom"), "Half"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await task.Completion.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, Alice);

        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Failed, cancel.Status);
    }

    [Fact]
    public async Task CancelByAnotherUserIsNotFoundAndTheAnswerGoesOn()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Private"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await streamed.Task.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, Mallory);

        Assert.Equal(CancelOutcome.NotFound, cancel.Outcome);
        Assert.Null(cancel.OwnerNode);
        Assert.False(task.CancelRequested);
        Assert.Equal(GenerationStatus.Running, task.Status);
        Assert.False(task.Completion.IsCompleted);
    }

    [Fact]
    public async Task AnAnswerRunningWhileItsUserSignedInIsStoppedByTheAccountsFirstStopOnItsNode()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Before", " sign-in"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "A long question");
        await streamed.Task.WaitAsync(Patience);

        // Alice signs in while it runs: her conversation moves to her account, the running task keeps her anonymous id.
        const string account = "alice-account";
        var contexts = _services!.GetRequiredService<IDbContextFactory<ChatPortal.Core.Storage.ChatPortalDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            db.Users.Add(new ChatPortal.Core.Storage.UserRecord { Id = account, UserName = "alice", NormalizedUserName = "ALICE", CreatedAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }

        Assert.Equal(1, await _services!.GetRequiredService<IConversationHandover>().HandOverAsync(Alice, account));
        Assert.Equal(Alice, task.Info.UserId);

        // No lease renewal from here on (it would find the Stop's record within 2 s): only the Stop itself can end the
        // answer now, and its first request does.
        await _services!.GetRequiredService<ChatPortal.Core.Ownership.LeaseKeeper>().StopAsync(CancellationToken.None);
        var cancel = await Engine.CancelAsync(task.Id, account);

        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Cancelled, cancel.Status);
        var stored = (await Store.GetAsync(account, conversationId))!.Messages[^1];
        Assert.Equal((task.Id, MessageStatus.Cancelled, "Before sign-in"), (stored.Id, stored.Status, stored.Content));

        // The anonymous id it started under no longer stops anything in that conversation.
        Assert.Equal(CancelOutcome.NotFound, (await Engine.CancelAsync(task.Id, Alice)).Outcome);
    }

    [Fact]
    public async Task CancelByAnotherUserOfAFinishedTaskIsNotFound()
    {
        Build(TestChatClient.Yielding("Private"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await task.Completion.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, Mallory);

        Assert.Equal(CancelOutcome.NotFound, cancel.Outcome);
        Assert.Null(await Engine.GetTaskAsync(task.Id, Mallory));
        Assert.NotNull(await Engine.GetTaskAsync(task.Id, Alice));
    }

    [Fact]
    public async Task AnAdministratorCancelsTheTaskOfAnyUser()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(StreamsThenWaits(streamed, "Running"));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await streamed.Task.WaitAsync(Patience);

        var cancel = await Engine.CancelAsync(task.Id, userId: null);

        Assert.Equal(CancelOutcome.Stopped, cancel.Outcome);
        Assert.Equal(GenerationStatus.Cancelled, cancel.Status);
    }

    [Fact]
    public async Task CancelOfAnUnknownTaskIsNotFound()
    {
        Build(TestChatClient.Yielding("x"));
        var conversationId = await NewConversationAsync();

        Assert.Equal(CancelOutcome.NotFound, (await Engine.CancelAsync(Ids.NewTaskId(conversationId), Alice)).Outcome);
        Assert.Equal(CancelOutcome.NotFound, (await Engine.CancelAsync("not-a-task-id", Alice)).Outcome);
    }

    [Fact]
    public async Task AFailingModelEndsFailedWithAReasonWithoutInternalsAnErrorIdAndKeepsThePartialText()
    {
        var log = new CapturedLog();
        Build(Throws(new InvalidOperationException("upstream exploded at http://10.0.0.7:8000 with key sk-secret"), "Partial ", "text"),
            configure: services => services.AddSingleton<ILoggerProvider>(log));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");

        var final = await task.Completion.WaitAsync(Patience);

        Assert.Equal(GenerationStatus.Failed, final.Status);
        var reason = Assert.IsType<string>(final.Reason);
        Assert.Matches(@"^The model failed\. \(error [0-9a-f]{8}\)$", reason);
        Assert.DoesNotContain("10.0.0.7", reason);
        Assert.DoesNotContain("sk-secret", reason);
        var errorId = reason[^9..^1];
        var entry = Assert.Single(log.Entries, e => e.Message.Contains(errorId, StringComparison.Ordinal));
        Assert.Contains("upstream exploded", entry.Exception?.Message);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal(MessageStatus.Failed, answer.Status);
        Assert.Equal("Partial text", answer.Content);
        Assert.Equal(final.Reason, answer.Error);
        Assert.Equal(StartOutcome.Started, (await Engine.StartAsync(Alice, conversationId, "Again")).Outcome);
    }

    [Fact]
    public async Task AnHttpErrorFromTheModelNamesTheStatusCode()
    {
        Build(Throws(new HttpRequestException("Service Unavailable", null, HttpStatusCode.ServiceUnavailable)));
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");

        var final = await task.Completion.WaitAsync(Patience);

        Assert.Equal(GenerationStatus.Failed, final.Status);
        Assert.Contains("503", final.Reason);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal("", answer.Content);
        Assert.Equal(MessageStatus.Failed, answer.Status);
    }

    [Fact]
    public async Task RegenerateAddsAnAnswerBesideTheLastOneAndKeepsIt()
    {
        var calls = 0;
        var client = new TestChatClient
        {
            GetStreamingResponseAsyncCallback = (_, _, ct) =>
                Updates(Interlocked.Increment(ref calls) == 1 ? ["First", " answer"] : ["Second", " answer"], ct),
        };
        Build(client);
        var conversationId = await NewConversationAsync();
        var first = await StartAsync(conversationId, "Question");
        await first.Completion.WaitAsync(Patience);

        var regenerate = await Engine.StartAsync(Alice, conversationId, text: null);

        Assert.Equal(StartOutcome.Started, regenerate.Outcome);
        var second = regenerate.Task!;
        Assert.Equal(GenerationStatus.Completed, (await second.Completion.WaitAsync(Patience)).Status);
        var conversation = (await Store.GetAsync(Alice, conversationId))!;
        Assert.Collection(
            conversation.Messages,
            user => Assert.Equal("Question", user.Content),
            answer =>
            {
                Assert.Equal(second.Id, answer.Id);
                Assert.Equal("Second answer", answer.Content);
            });
        Assert.Equal([first.Id, second.Id], conversation.Tree.SiblingsOf(conversation.Messages[1]).Select(m => m.Id));
        Assert.Equal("First answer", conversation.Tree.Find(first.Id)!.Content);

        // The model is asked the question again, without the earlier answer.
        var prompt = client.Requests[1];
        Assert.Equal("Question", prompt[^1].Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatRole.User, prompt[^1].Role);
        Assert.DoesNotContain(prompt, m => m.Text.Contains("First answer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ThePromptIsTheBranchOnScreenAfterAnEditAndAfterASwitchBack()
    {
        var client = new TestChatClient
        {
            GetStreamingResponseAsyncCallback = (messages, _, ct) => Updates([$"Answer to {messages.Last().Text}"], ct),
        };
        Build(client);
        var conversationId = await NewConversationAsync();
        foreach (var question in new[] { "Q1", "Q2", "Q3" })
        {
            await (await StartAsync(conversationId, question)).Completion.WaitAsync(Patience);
        }

        var q2 = (await MessagesAsync(conversationId))[2];
        var edit = await Engine.EditAsync(Alice, conversationId, q2.Id, "Q2 edited");

        Assert.Equal(StartOutcome.Started, edit.Outcome);
        await edit.Task!.Completion.WaitAsync(Patience);
        Assert.Equal(["Q1", "Answer to Q1", "Q2 edited"], client.Requests[^1].Skip(1).Select(m => m.Text));
        Assert.Equal(["Q1", "Answer to Q1", "Q2 edited", "Answer to Q2 edited"], (await MessagesAsync(conversationId)).Select(m => m.Content));

        Assert.Equal(HistoryChange.Done, await Store.SelectBranchAsync(Alice, conversationId, q2.Id));
        await (await StartAsync(conversationId, "Q4")).Completion.WaitAsync(Patience);

        Assert.Equal(["Q1", "Answer to Q1", "Q2", "Answer to Q2", "Q3", "Answer to Q3", "Q4"], client.Requests[^1].Skip(1).Select(m => m.Text));
        Assert.Equal(StartOutcome.MessageNotFound, (await Engine.EditAsync(Alice, conversationId, "not-a-message", "x")).Outcome);
        Assert.Equal(StartOutcome.MessageNotFound, (await Engine.RegenerateAsync(Alice, conversationId, q2.Id)).Outcome);
        Assert.Equal(0, Engine.LocalTasks.Count);
    }

    [Fact]
    public async Task RegenerateWithoutAQuestionHasNothingToRegenerate()
    {
        Build(TestChatClient.Yielding("x"));
        var conversationId = await NewConversationAsync();

        var result = await Engine.StartAsync(Alice, conversationId, text: null);

        Assert.Equal(StartOutcome.NothingToRegenerate, result.Outcome);
        Assert.Equal(0, Engine.LocalTasks.Count);
    }

    [Fact]
    public async Task ThePromptCarriesTheHistoryAfterTheSystemPrompt()
    {
        var client = TestChatClient.Yielding("Answer one");
        Build(client);
        var conversationId = await NewConversationAsync();
        await (await StartAsync(conversationId, "Question one")).Completion.WaitAsync(Patience);
        await (await StartAsync(conversationId, "Question two")).Completion.WaitAsync(Patience);

        var prompt = client.Requests[1];

        Assert.Equal(
            ["system", "user", "assistant", "user"],
            prompt.Select(m => m.Role.Value));
        Assert.Equal(["Question one", "Answer one", "Question two"], prompt.Skip(1).Select(m => m.Text));
    }

    [Fact]
    public async Task ShutdownEndsRunningAnswersAsFailedWithTheirTextKept()
    {
        var streamed = new CountdownEvent(2);
        Build(new TestChatClient
        {
            GetStreamingResponseAsyncCallback = (messages, _, ct) => StreamThenWait([$"Answer to {messages.Last().Text}"], () => streamed.Signal(), ct),
        });
        var one = await NewConversationAsync();
        var two = await NewConversationAsync();
        var first = await StartAsync(one, "one");
        var second = await StartAsync(two, "two");
        Assert.True(await Task.Run(() => streamed.Wait(Patience)));

        await Engine.ShutdownAsync(drain: TimeSpan.Zero).WaitAsync(Patience);

        foreach (var (task, conversationId, text) in new[] { (first, one, "Answer to one"), (second, two, "Answer to two") })
        {
            Assert.True(task.Completion.IsCompleted, "Shutdown should return after the answers ended.");
            var final = await task.Completion;
            Assert.Equal(GenerationStatus.Failed, final.Status);
            Assert.Contains("shut down", final.Reason);
            var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
            Assert.Equal(MessageStatus.Failed, answer.Status);
            Assert.Equal(text, answer.Content);
        }

        Assert.Equal(0, Engine.LocalTasks.Count);
    }

    [Fact]
    public async Task ShutdownLetsAnswersThatEndWithinTheDrainComplete()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Build(new TestChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => StreamWaitStream(streamed, release.Task, ct) });
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await streamed.Task.WaitAsync(Patience);

        var shutdown = Engine.ShutdownAsync(drain: Patience);
        release.SetResult();
        await shutdown.WaitAsync(Patience);

        Assert.Equal(GenerationStatus.Completed, (await task.Completion).Status);
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal("Before after", answer.Content);
        Assert.Equal(MessageStatus.Completed, answer.Status);
    }

    [Fact]
    public async Task AFollowerSeesTheEndOnlyOnceTheAnswerIsStored()
    {
        GatedStore? store = null;
        Build(TestChatClient.Yielding("Stored"), configure: s => s.AddSingleton<IConversationStore>(sp => store = new GatedStore(sp.GetRequiredService<ChatPortal.Core.Storage.DatabaseConversationStore>())));
        _ = Store;
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Question");
        await store!.AnswerArriving.WaitAsync(Patience);

        // The task has its final state but its answer is not stored yet: a follower arrives now.
        Assert.Equal(GenerationStatus.Completed, task.Status);
        await using var follow = Engine.FollowAsync(task.Info).GetAsyncEnumerator();
        Assert.True(await follow.MoveNextAsync());
        Assert.Equal(new TaskDelta("Stored"), follow.Current);
        var next = follow.MoveNextAsync();
        var endedBeforeStored = next.IsCompleted;
        store.Release();

        Assert.True(await next.AsTask().WaitAsync(Patience));
        Assert.Equal(new TaskEnded(GenerationStatus.Completed, null), follow.Current);
        Assert.False(endedBeforeStored, "The end reached a follower before the answer was stored.");
        var answer = Assert.Single(await MessagesAsync(conversationId), m => m.Role == ChatRole.Assistant);
        Assert.Equal("Stored", answer.Content);
    }

    [Fact]
    public async Task TheUsageTheModelReportsIsStoredWithTheAnswerAndTheModel()
    {
        Build(new TestChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => StreamThenReport(["Four", " words", " in", " all"], 321, 4, ct) });
        var conversationId = await NewConversationAsync();

        await (await StartAsync(conversationId, "Count for me")).Completion.WaitAsync(Patience);

        var answer = (await MessagesAsync(conversationId))[^1];
        Assert.Equal(ModelCatalog.SimulatedId, answer.ModelId);
        Assert.NotNull(answer.Usage);
        Assert.Equal((321, 4, false), (answer.Usage.InputTokens, answer.Usage.OutputTokens, answer.Usage.Estimated));
        Assert.NotNull(answer.Usage.FirstTokenMs);
    }

    [Fact]
    public async Task AStoppedAnswerHasAnEstimatedUsageForWhatWasSentAndShown()
    {
        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = StreamsThenWaits(streamed, "Partial", " answer");
        Build(client);
        var conversationId = await NewConversationAsync();
        var task = await StartAsync(conversationId, "Tell me a long story");
        await streamed.Task.WaitAsync(Patience);

        await Engine.CancelAsync(task.Id, Alice);

        var answer = (await MessagesAsync(conversationId))[^1];
        Assert.Equal(MessageStatus.Cancelled, answer.Status);
        Assert.True(answer.Usage!.Estimated);
        Assert.Equal(TokenEstimator.Estimate("Partial answer"), answer.Usage.OutputTokens);
        Assert.Equal(TokenEstimator.Estimate(client.Requests[0]), answer.Usage.InputTokens);
    }

    [Fact]
    public async Task TheSimulatedModelReportsItsUsageInWords()
    {
        Build(settings: new()
        {
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "1000",
            ["ChatPortal:Model:Simulated:ResponseTokens"] = "30",
            ["ChatPortal:Model:Simulated:FirstTokenDelayMs"] = "0",
        });
        var conversationId = await NewConversationAsync();

        await (await StartAsync(conversationId, "Three words here")).Completion.WaitAsync(Patience);

        var usage = (await MessagesAsync(conversationId))[^1].Usage!;
        Assert.False(usage.Estimated);
        Assert.Equal(30, usage.OutputTokens);
        Assert.True(usage.InputTokens > 3);
    }

    [Fact]
    public async Task AUserPastTheDailyQuotaIsRefusedAtStartWithWhatWasUsed()
    {
        Build(new TestChatClient { GetStreamingResponseAsyncCallback = (_, _, ct) => StreamThenReport(["Expensive"], 900, 200, ct) },
            settings: new() { ["ChatPortal:Limits:TokensPerUserPerDay"] = "1000" });
        var conversationId = await NewConversationAsync();
        await (await StartAsync(conversationId, "Spend")).Completion.WaitAsync(Patience);

        var refused = await Engine.StartAsync(Alice, conversationId, "Spend more");

        Assert.Equal(StartOutcome.QuotaExceeded, refused.Outcome);
        Assert.Equal((1100L, 1000L), (refused.Quota!.Used, refused.Quota.Limit));
        Assert.Equal(TimeSpan.Zero, refused.Quota.ResetsAt.TimeOfDay);
        Assert.Equal(2, (await MessagesAsync(conversationId)).Count);
        Assert.Equal(0, Engine.LocalTasks.Count);
    }

    [Fact]
    public async Task AnUnknownModelIsRefusedBeforeAnythingIsStored()
    {
        Build(TestChatClient.Yielding("x"));
        var conversationId = await NewConversationAsync();

        var result = await Engine.StartAsync(Alice, conversationId, "Hello", modelId: "not-configured");

        Assert.Equal(StartOutcome.UnknownModel, result.Outcome);
        Assert.Empty(await MessagesAsync(conversationId));
    }

    [Fact]
    public async Task TheConversationsInstructionsReplaceTheSystemPrompt()
    {
        var client = TestChatClient.Yielding("Arr");
        Build(client, settings: new() { ["ChatPortal:Model:SystemPrompt"] = "The default." });
        var conversationId = await NewConversationAsync();
        await Store.SetInstructionsAsync(Alice, conversationId, "Talk like a pirate.");

        await (await StartAsync(conversationId, "Hello")).Completion.WaitAsync(Patience);
        await Store.SetInstructionsAsync(Alice, conversationId, null);
        await (await StartAsync(conversationId, "Hello again")).Completion.WaitAsync(Patience);

        Assert.Equal("Talk like a pirate.", client.Requests[0][0].Text);
        Assert.Equal("The default.", client.Requests[1][0].Text);
    }

    [Fact]
    public async Task TheFirstAnswerIsFollowedByATitleFromTheModelAndOnlyTheFirst()
    {
        var client = new TestChatClient
        {
            GetStreamingResponseAsyncCallback = (messages, options, ct) => options?.MaxOutputTokens == TitleWriter.MaxTokens
                ? Updates(["\"Pirate greetings.\""], ct)
                : Updates(["Arr"], ct),
        };
        Build(client, settings: new() { ["ChatPortal:Model:GenerateTitles"] = "true" });
        var changes = new List<ConversationTitleChanged>();
        using var subscription = _services!.GetRequiredService<ConversationEvents>().Subscribe(c => { lock (changes) { changes.Add(c); } });
        var conversationId = await NewConversationAsync();

        await (await StartAsync(conversationId, "how do pirates say hello")).Completion.WaitAsync(Patience);
        await _services!.GetRequiredService<TitleWriter>().WhenIdleAsync().WaitAsync(Patience);
        await (await StartAsync(conversationId, "and goodbye?")).Completion.WaitAsync(Patience);
        await _services!.GetRequiredService<TitleWriter>().WhenIdleAsync().WaitAsync(Patience);

        Assert.Equal("Pirate greetings", (await Store.GetAsync(Alice, conversationId))!.Title);
        Assert.Equal([new ConversationTitleChanged(conversationId, Alice, "Pirate greetings")], changes);
        Assert.Equal(1, client.Requests.Count(r => r[0].Text == TitleWriter.Instructions));
        Assert.Equal(3, client.Requests.Count);
    }

    [Fact]
    public async Task ARenameBeforeTheTitleArrivesWins()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new TestChatClient
        {
            GetStreamingResponseAsyncCallback = (_, options, ct) => options?.MaxOutputTokens == TitleWriter.MaxTokens
                ? AfterRelease(release.Task, "Model title", ct)
                : Updates(["Answer"], ct),
        };
        Build(client, settings: new() { ["ChatPortal:Model:GenerateTitles"] = "true" });
        var conversationId = await NewConversationAsync();

        await (await StartAsync(conversationId, "a question")).Completion.WaitAsync(Patience);
        await Store.RenameAsync(Alice, conversationId, "Mine");
        release.SetResult();
        await _services!.GetRequiredService<TitleWriter>().WhenIdleAsync().WaitAsync(Patience);

        Assert.Equal("Mine", (await Store.GetAsync(Alice, conversationId))!.Title);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> StreamThenReport(string[] texts, int input, int output, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var text in texts)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return TestChatClient.Update(text);
        }

        yield return new ChatResponseUpdate(Microsoft.Extensions.AI.ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output })]);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> AfterRelease(Task release, string text, [EnumeratorCancellation] CancellationToken ct)
    {
        await release.WaitAsync(ct);
        yield return TestChatClient.Update(text);
    }

    public async ValueTask DisposeAsync()
    {
        if (_services is null)
        {
            return;
        }

        // Nothing keeps running after a test: stop what is left, then release the container.
        var running = Engine.LocalTasks.All;
        foreach (var task in running)
        {
            task.RequestCancel();
        }

        await Task.WhenAll(running.Select(t => t.Completion)).WaitAsync(Patience);
        await _services.GetRequiredService<ChatPortal.Core.Ownership.LeaseKeeper>().StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dataDirectory.Delete(recursive: true);
    }

    private void Build(IChatClient? client = null, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        // The embedded default: a SQLite file of this test's own. No title requests unless a test asks for them: the
        // tests here count and read the model's requests for answers.
        var all = new Dictionary<string, string?>
        {
            ["ChatPortal:DataDirectory"] = _dataDirectory.FullName,
            ["ChatPortal:Model:GenerateTitles"] = "false",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(all).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<IConfiguration>(config);
        services.AddChatPortalCore(_ => "node-test");
        if (client is not null)
        {
            services.AddSingleton(client);
        }

        configure?.Invoke(services);

        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        // What the host does at start: migrate, take a lease.
        _services.GetRequiredService<ChatPortal.Core.Ownership.LeaseKeeper>().StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    private async Task<string> NewConversationAsync() => (await Store.CreateAsync(Alice)).Id;

    private async Task<GenerationTask> StartAsync(string conversationId, string text)
    {
        var result = await Engine.StartAsync(Alice, conversationId, text);
        Assert.Equal(StartOutcome.Started, result.Outcome);
        return result.Task!;
    }

    private async Task<IReadOnlyList<ChatMessage>> MessagesAsync(string conversationId) =>
        (await Store.GetAsync(Alice, conversationId))!.Messages;

    /// <summary>A model that streams <paramref name="texts"/>, signals, then waits until it is cancelled.</summary>
    private static TestChatClient StreamsThenWaits(TaskCompletionSource streamed, params string[] texts) => new()
    {
        GetStreamingResponseAsyncCallback = (_, _, ct) => StreamThenWait(texts, () => streamed.TrySetResult(), ct),
    };

    /// <summary>A model that streams <paramref name="texts"/> and then fails with <paramref name="error"/>.</summary>
    private static TestChatClient Throws(Exception error, params string[] texts) => new()
    {
        GetStreamingResponseAsyncCallback = (_, _, ct) => StreamThenThrow(texts, error, ct),
    };

    /// <summary>Signals once the model is suspended before its first update (thinking, not yet streaming).</summary>
    private sealed class SignalsWhenWaiting(IChatClient inner, TaskCompletionSource waiting) : DelegatingChatClient(inner)
    {
        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages,
            ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await using var updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            var next = updates.MoveNextAsync();
            if (!next.IsCompleted)
            {
                waiting.TrySetResult();
            }

            while (await next)
            {
                yield return updates.Current;
                next = updates.MoveNextAsync();
            }
        }
    }

    /// <summary>A store that holds back the first answer's commit until <see cref="Release"/>.</summary>
    private sealed class GatedStore(IConversationStore inner) : IConversationStore
    {
        private readonly TaskCompletionSource _arriving = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AnswerArriving => _arriving.Task;

        public void Release() => _release.TrySetResult();

        public async Task<AnswerCommitOutcome> CommitAnswerAsync(AnswerCommit commit, CancellationToken cancellationToken = default)
        {
            _arriving.TrySetResult();
            await _release.Task.ConfigureAwait(false);
            return await inner.CommitAnswerAsync(commit, cancellationToken).ConfigureAwait(false);
        }

        public Task<ConversationSummary> CreateAsync(string userId, CancellationToken cancellationToken = default) => inner.CreateAsync(userId, cancellationToken);

        public Task<Conversation?> FindAsync(string conversationId, CancellationToken cancellationToken = default) => inner.FindAsync(conversationId, cancellationToken);

        public Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken = default) => inner.ListAsync(userId, cancellationToken);

        public Task<HistoryChange> ClearAsync(string userId, string conversationId, CancellationToken cancellationToken = default) => inner.ClearAsync(userId, conversationId, cancellationToken);

        public Task<HistoryChange> DeleteAsync(string userId, string conversationId, CancellationToken cancellationToken = default) => inner.DeleteAsync(userId, conversationId, cancellationToken);

        public Task<ConversationSummary?> RenameAsync(string userId, string conversationId, string title, CancellationToken cancellationToken = default) => inner.RenameAsync(userId, conversationId, title, cancellationToken);

        public Task<ConversationPage> ListPageAsync(string userId, int limit, ConversationCursor? after = null, CancellationToken cancellationToken = default) => inner.ListPageAsync(userId, limit, after, cancellationToken);

        public Task<IReadOnlyList<ConversationMatch>> SearchAsync(string userId, SearchQuery query, int limit, CancellationToken cancellationToken = default) => inner.SearchAsync(userId, query, limit, cancellationToken);

        public Task<ConversationSummary?> RestoreAsync(string userId, string conversationId, CancellationToken cancellationToken = default) => inner.RestoreAsync(userId, conversationId, cancellationToken);

        public Task<HistoryChange> SelectBranchAsync(string userId, string conversationId, string messageId, CancellationToken cancellationToken = default) => inner.SelectBranchAsync(userId, conversationId, messageId, cancellationToken);

        public Task<bool> SetModelAsync(string userId, string conversationId, string? modelId, CancellationToken cancellationToken = default) => inner.SetModelAsync(userId, conversationId, modelId, cancellationToken);

        public Task<bool> SetInstructionsAsync(string userId, string conversationId, string? instructions, CancellationToken cancellationToken = default) => inner.SetInstructionsAsync(userId, conversationId, instructions, cancellationToken);

        public Task<bool> ReplaceTitleAsync(string conversationId, string expected, string title, CancellationToken cancellationToken = default) => inner.ReplaceTitleAsync(conversationId, expected, title, cancellationToken);

        public Task<AnswerStartResult> StartAnswerAsync(AnswerStart start, CancellationToken cancellationToken = default) => inner.StartAnswerAsync(start, cancellationToken);

        public Task<ActiveAnswer?> FindActiveAnswerAsync(string conversationId, CancellationToken cancellationToken = default) => inner.FindActiveAnswerAsync(conversationId, cancellationToken);

        public Task<IReadOnlyList<ActiveAnswer>> ListActiveAnswersAsync(CancellationToken cancellationToken = default) => inner.ListActiveAnswersAsync(cancellationToken);

        public Task<ActiveAnswer?> RequestCancelAsync(string taskId, string conversationId, string? userId, CancellationToken cancellationToken = default) => inner.RequestCancelAsync(taskId, conversationId, userId, cancellationToken);

        public Task<StoredAnswer?> FindAnswerAsync(string conversationId, string taskId, CancellationToken cancellationToken = default) => inner.FindAnswerAsync(conversationId, taskId, cancellationToken);
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Updates(string[] texts, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var text in texts)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return TestChatClient.Update(text);
        }
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> StreamThenWait(string[] texts, Action streamed, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var text in texts)
        {
            yield return TestChatClient.Update(text);
        }

        // Resumed only after the engine took the last update, so its text is appended by now.
        streamed();
        await Task.Delay(Timeout.Infinite, ct);
        yield return TestChatClient.Update("never reached");
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> StreamThenThrow(string[] texts, Exception error, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var text in texts)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return TestChatClient.Update(text);
        }

        throw error;
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> StreamWaitStream(TaskCompletionSource streamed, Task release, [EnumeratorCancellation] CancellationToken ct)
    {
        yield return TestChatClient.Update("Before");
        streamed.TrySetResult();
        await release.WaitAsync(ct);
        yield return TestChatClient.Update(" after");
    }

    /// <summary>Log entries of the engine, as an operator's log would hold them.</summary>
    private sealed class CapturedLog : ILoggerProvider, ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Message, Exception? Exception)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Entries.Enqueue((formatter(state, exception), exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
