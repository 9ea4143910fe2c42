using ChatPortal.Core.Configuration;
using ChatPortal.Core.Generation;
using ChatPortal.Core.Limits;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ChatPortal.Tests.Unit;

/// <summary>The model catalogue, its configuration, context fitting, titles and the quota's wording: no server.</summary>
public sealed class ModelsTests
{
    private readonly ChatPortalOptionsValidator _validator = new();

    [Fact]
    public void TheEmbeddedDefaultIsOneSimulatedModel()
    {
        var catalog = Catalog(new ChatPortalOptions());

        var model = Assert.Single(catalog.Models);
        Assert.Same(model, catalog.Default);
        Assert.Equal((ModelCatalog.SimulatedId, ModelProvider.Simulated), (model.Id, model.Provider));
    }

    [Fact]
    public void TheSingleModelKeysStillDescribeTheModel()
    {
        var options = new ChatPortalOptions();
        options.Model.Provider = ModelProvider.OpenAI;
        options.Model.OpenAI = new OpenAIModelOptions { Endpoint = "http://localhost:11434/v1", ModelId = "llama3.2", ApiKey = "k", ContextWindow = 4096 };

        var model = Assert.Single(Catalog(options).Models);

        Assert.Equal(("llama3.2", "llama3.2", ModelProvider.OpenAI, "http://localhost:11434/v1", 4096), (model.Id, model.ProviderModelId, model.Provider, model.Endpoint, model.ContextWindow));
        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void AModelsListReplacesTheSingleModelAndNamesItsDefault()
    {
        var options = TwoModels();
        options.Model.Default = "large";

        var catalog = Catalog(options);

        Assert.Equal(["small", "large"], catalog.Models.Select(m => m.Id));
        Assert.Equal("large", catalog.Default.Id);
        Assert.Equal("Small model", catalog.Find("small")!.DisplayName);
        Assert.Equal("large", catalog.Find("large")!.DisplayName); // no display name: the id
        Assert.Equal("gpt-4o-mini", catalog.Find("small")!.ProviderModelId);
        Assert.Equal("large", catalog.Find("large")!.ProviderModelId); // no model id: the id
        Assert.Same(catalog.Default, catalog.Resolve("removed-since"));
        Assert.Equal("removed-since", catalog.DisplayName("removed-since"));
        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void WithoutADefaultTheFirstModelIsTheDefault() => Assert.Equal("small", Catalog(TwoModels()).Default.Id);

    [Fact]
    public void TheBudgetKeepsRoomForTheAnswer()
    {
        var options = TwoModels();
        var catalog = Catalog(options);

        Assert.Equal(8192 - 2048, catalog.Find("small")!.PromptBudget); // a quarter of the window
        Assert.Equal(128_000 - 4096, catalog.Find("large")!.PromptBudget); // at most 4096
        options.Model.Models[0].MaxOutputTokens = 1000;
        Assert.Equal(8192 - 1000, Catalog(options).Find("small")!.PromptBudget);
    }

    [Fact]
    public void BadModelEntriesNameTheirKeys()
    {
        var options = TwoModels();
        options.Model.Models.Add(new ModelDefinition { Id = "small", Endpoint = "https://api.example.com/v1" });
        options.Model.Models.Add(new ModelDefinition { Id = "has space", Endpoint = "ftp://nope" });
        options.Model.Models.Add(new ModelDefinition { Id = "tiny", Endpoint = "https://api.example.com/v1", ContextWindow = 100 });
        options.Model.Models.Add(new ModelDefinition { Id = "greedy", Endpoint = "https://api.example.com/v1", ContextWindow = 1000, MaxOutputTokens = 1000 });
        options.Model.Default = "missing";

        var failures = _validator.Validate(null, options).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("ChatPortal:Model:Models:2:Id", StringComparison.Ordinal) && f.Contains("another model"));
        Assert.Contains(failures, f => f.StartsWith("ChatPortal:Model:Models:3:Id", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ChatPortal:Model:Models:3:Endpoint", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ChatPortal:Model:Models:4:ContextWindow", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ChatPortal:Model:Models:5:MaxOutputTokens", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("ChatPortal:Model:Default", StringComparison.Ordinal) && f.Contains("missing"));
        Assert.Equal(6, failures.Count);
    }

    [Fact]
    public void ANegativeQuotaNamesItsKeyAndZeroMeansNone()
    {
        var options = new ChatPortalOptions();
        options.Limits.TokensPerUserPerDay = -1;
        Assert.Contains("ChatPortal:Limits:TokensPerUserPerDay", _validator.Validate(null, options).FailureMessage);

        options.Limits.TokensPerUserPerDay = 0;
        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void AHistoryThatFitsIsSentWhole()
    {
        var prompt = Prompt(turns: 3);

        Assert.Same(prompt, new ContextBudgetReducer(100_000).Reduce(prompt));
    }

    [Fact]
    public void TheOldestTurnsGoFirstAndTheInstructionsStay()
    {
        var prompt = Prompt(turns: 40);
        var turn = TokenEstimator.Estimate(prompt[1]) + TokenEstimator.Estimate(prompt[2]);
        var budget = TokenEstimator.Estimate(prompt[0]) + 5 * turn + TokenEstimator.Estimate(prompt[^1]) + turn / 2;

        var reduced = new ContextBudgetReducer(budget).Reduce(prompt);

        Assert.Equal(ChatRole.System, reduced[0].Role);
        Assert.Equal("Be brief.", reduced[0].Text);
        Assert.Equal(prompt.TakeLast(11).Select(m => m.Text), reduced.Skip(1).Select(m => m.Text)); // five whole turns and the question
        Assert.Equal(ChatRole.User, reduced[1].Role);
        Assert.True(TokenEstimator.Estimate(reduced) <= budget);
    }

    [Fact]
    public void ACutHistoryStartsWithAQuestion()
    {
        var prompt = Prompt(turns: 10);

        // Room for the question and the answer before it, not for that answer's question: an answer without its
        // question would lead the history, so it goes too.
        var budget = TokenEstimator.Estimate(prompt[0]) + TokenEstimator.Estimate(prompt[^1]) + TokenEstimator.Estimate(prompt[^2]) + 2;
        var reduced = new ContextBudgetReducer(budget).Reduce(prompt);

        Assert.Equal([ChatRole.System, ChatRole.User], reduced.Select(m => m.Role));
        Assert.Equal(prompt[^1].Text, reduced[^1].Text);
    }

    [Fact]
    public void TheLatestQuestionIsSentEvenWhenItAloneIsOverTheBudget()
    {
        var huge = new string('x', 10_000);
        List<ChatMessage> prompt = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "old"), new(ChatRole.Assistant, "older answer"), new(ChatRole.User, huge)];

        var reduced = new ContextBudgetReducer(100).Reduce(prompt);

        Assert.Equal(["Be brief.", huge], reduced.Select(m => m.Text));
    }

    [Fact]
    public void TheEstimateIsOnTheSafeSide()
    {
        // English runs about four characters a token, CJK about one: the estimate is at least that.
        Assert.True(TokenEstimator.Estimate("The quick brown fox jumps over the lazy dog again and again.") >= 60 / 4);
        Assert.True(TokenEstimator.Estimate("東京は日本の首都です") >= 10);
        Assert.Equal(0, TokenEstimator.Estimate(""));
    }

    [Theory]
    [InlineData("Cancelling streams across nodes", "Cancelling streams across nodes")]
    [InlineData("\"Cancelling streams.\"", "Cancelling streams")]
    [InlineData("Title: **Fencing tokens**", "Fencing tokens")]
    [InlineData("  # Leases  \nSecond line is ignored", "Leases")]
    [InlineData("“Quoted”", "Quoted")]
    [InlineData("", null)]
    [InlineData("\"\"", null)]
    public void ATitleIsCleanedOfQuotesLabelsAndMarkdown(string reply, string? title) => Assert.Equal(title, TitleWriter.Clean(reply));

    [Fact]
    public void ALongTitleIsShortened()
    {
        var title = TitleWriter.Clean(new string('a', 30) + " " + new string('b', 60))!;

        Assert.InRange(title.Length, 30, 60);
        Assert.EndsWith("…", title);
    }

    [Fact]
    public void TheQuotaSaysWhatWasUsedAndWhenItResets()
    {
        var now = new DateTimeOffset(2026, 3, 4, 21, 30, 0, TimeSpan.Zero);
        var quota = new DailyTokenQuota(12_345, 10_000, DailyTokenQuota.NextReset(now));

        Assert.Equal(new DateTimeOffset(2026, 3, 5, 0, 0, 0, TimeSpan.Zero), quota.ResetsAt);
        Assert.Equal(9000, quota.RetryAfterSeconds(now));
        Assert.Equal("You have used 12,345 of your 10,000 tokens for today. The quota resets at midnight UTC, in 2 h 30 min.", quota.Describe(now));
        Assert.EndsWith("in 5 min.", quota.Describe(new DateTimeOffset(2026, 3, 4, 23, 55, 0, TimeSpan.Zero)));
    }

    private static ChatPortalOptions TwoModels()
    {
        var options = new ChatPortalOptions();
        options.Model.Models =
        [
            new ModelDefinition { Id = "small", DisplayName = "Small model", Endpoint = "https://api.example.com/v1", ModelId = "gpt-4o-mini", ContextWindow = 8192 },
            new ModelDefinition { Id = "large", Endpoint = "https://api.example.com/v1", ContextWindow = 128_000 },
        ];
        return options;
    }

    private static ModelCatalog Catalog(ChatPortalOptions options) =>
        new(Options.Create(options), new ServiceCollection().BuildServiceProvider());

    /// <summary>Instructions, then <paramref name="turns"/> question/answer pairs, then a last question.</summary>
    private static List<ChatMessage> Prompt(int turns)
    {
        List<ChatMessage> prompt = [new(ChatRole.System, "Be brief.")];
        for (var i = 0; i < turns; i++)
        {
            prompt.Add(new(ChatRole.User, $"Question {i}: what about part {i} of the story?"));
            prompt.Add(new(ChatRole.Assistant, $"Answer {i}: part {i} is where the story turns, and here is why at some length."));
        }

        prompt.Add(new(ChatRole.User, "And the last question?"));
        return prompt;
    }
}
