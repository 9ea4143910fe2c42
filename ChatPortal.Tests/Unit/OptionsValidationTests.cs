using ChatPortal.Core;
using ChatPortal.Core.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChatPortal.Tests.Unit;

public sealed class OptionsValidationTests
{
    private readonly ChatPortalOptionsValidator _validator = new();

    [Fact]
    public void TheDefaultsAreValid()
    {
        var result = _validator.Validate(null, new ChatPortalOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-5.0)]
    [InlineData(1_000_000.0)]
    public void ABadTokensPerSecondNamesItsKey(double tokensPerSecond)
    {
        var options = new ChatPortalOptions();
        options.Model.Simulated.TokensPerSecond = tokensPerSecond;

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Model:Simulated:TokensPerSecond", result.FailureMessage);
        Assert.Single(result.Failures!);
    }

    [Fact]
    public void ABadResponseTokensNamesItsKey()
    {
        var options = new ChatPortalOptions();
        options.Model.Simulated.ResponseTokens = 0;

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Model:Simulated:ResponseTokens", result.FailureMessage);
    }

    [Fact]
    public void ANegativeFirstTokenDelayNamesItsKey()
    {
        var options = new ChatPortalOptions();
        options.Model.Simulated.FirstTokenDelayMs = -1;

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Model:Simulated:FirstTokenDelayMs", result.FailureMessage);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(2_000_000)]
    public void ABadMaxMessageCharsNamesItsKey(int maxMessageChars)
    {
        var options = new ChatPortalOptions();
        options.Limits.MaxMessageChars = maxMessageChars;

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Limits:MaxMessageChars", result.FailureMessage);
        Assert.Contains(maxMessageChars.ToString(System.Globalization.CultureInfo.CurrentCulture), result.FailureMessage);
    }

    [Fact]
    public void AClusterOnSqliteIsRefusedNamingBothKeys()
    {
        var options = new ChatPortalOptions { Redis = "127.0.0.1:6379" };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Redis", result.FailureMessage);
        Assert.Contains("ChatPortal:Database:Provider", result.FailureMessage);
    }

    [Fact]
    public void AClusterOnPostgresIsAccepted()
    {
        var options = new ChatPortalOptions { Redis = "127.0.0.1:6379" };
        options.Database.Provider = DatabaseProvider.Postgres;
        options.Database.ConnectionString = "Host=127.0.0.1;Database=chatportal";

        var result = _validator.Validate(null, options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void PostgresWithoutAConnectionStringNamesTheKey()
    {
        var options = new ChatPortalOptions();
        options.Database.Provider = DatabaseProvider.Postgres;

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Database:ConnectionString", result.FailureMessage);
    }

    [Fact]
    public void ABadMessagesPerMinuteNamesItsKey()
    {
        var options = new ChatPortalOptions();
        options.Limits.MessagesPerMinute = 0;

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Limits:MessagesPerMinute", result.FailureMessage);
    }

    [Fact]
    public void OpenAIWithoutAnEndpointNamesTheEndpointKey()
    {
        var options = new ChatPortalOptions();
        options.Model.Provider = ModelProvider.OpenAI;
        options.Model.OpenAI.ModelId = "gpt-4o-mini";

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Model:OpenAI:Endpoint", result.FailureMessage);
        Assert.DoesNotContain("ChatPortal:Model:OpenAI:ModelId", result.FailureMessage);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("/v1")]
    [InlineData("ftp://models.example.com/v1")]
    public void OpenAIWithAnEndpointThatIsNotAnHttpUrlNamesTheEndpointKey(string endpoint)
    {
        var options = new ChatPortalOptions();
        options.Model.Provider = ModelProvider.OpenAI;
        options.Model.OpenAI.Endpoint = endpoint;
        options.Model.OpenAI.ModelId = "gpt-4o-mini";

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Model:OpenAI:Endpoint", result.FailureMessage);
    }

    [Fact]
    public void OpenAIWithoutAModelIdNamesTheModelIdKey()
    {
        var options = new ChatPortalOptions();
        options.Model.Provider = ModelProvider.OpenAI;
        options.Model.OpenAI.Endpoint = "https://models.example.com/v1";

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Model:OpenAI:ModelId", result.FailureMessage);
        Assert.DoesNotContain("ChatPortal:Model:OpenAI:Endpoint", result.FailureMessage);
    }

    [Fact]
    public void ACompleteOpenAISectionIsValid()
    {
        var options = new ChatPortalOptions();
        options.Model.Provider = ModelProvider.OpenAI;
        options.Model.OpenAI.Endpoint = "https://models.example.com/v1";
        options.Model.OpenAI.ModelId = "gpt-4o-mini";

        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("a-prefix-that-is-far-too-long-for-keys:")]
    public void ABadKeyPrefixNamesItsKey(string prefix)
    {
        var options = new ChatPortalOptions { KeyPrefix = prefix };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:KeyPrefix", result.FailureMessage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("node a")]
    [InlineData("node{a}")]
    public void ABadNodeIdNamesItsKey(string nodeId)
    {
        var options = new ChatPortalOptions { NodeId = nodeId };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:NodeId", result.FailureMessage);
    }

    [Fact]
    public void AnEmptyAdminUsernameNamesItsKey()
    {
        var options = new ChatPortalOptions();
        options.Admin.Username = " ";

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChatPortal:Admin:Username", result.FailureMessage);
    }

    [Fact]
    public void EveryBadKeyIsNamedAtOnce()
    {
        var options = new ChatPortalOptions();
        options.Model.Simulated.TokensPerSecond = 0;
        options.Limits.MaxMessageChars = 0;

        var result = _validator.Validate(null, options);

        Assert.Contains("ChatPortal:Model:Simulated:TokensPerSecond", result.FailureMessage);
        Assert.Contains("ChatPortal:Limits:MaxMessageChars", result.FailureMessage);
    }

    [Fact]
    public async Task ANodeWithABadSettingStopsAtStartNamingTheKey()
    {
        using var host = Host(new()
        {
            ["ChatPortal:Model:Simulated:TokensPerSecond"] = "0",
            ["ChatPortal:Limits:MaxMessageChars"] = "0",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ChatPortal:Model:Simulated:TokensPerSecond", error.Message);
        Assert.Contains("ChatPortal:Limits:MaxMessageChars", error.Message);
    }

    [Fact]
    public async Task ANodeWithOpenAIAndNoEndpointStopsAtStartNamingTheKey()
    {
        using var host = Host(new()
        {
            ["ChatPortal:Model:Provider"] = "OpenAI",
            ["ChatPortal:Model:OpenAI:ModelId"] = "gpt-4o-mini",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ChatPortal:Model:OpenAI:Endpoint", error.Message);
    }

    [Fact]
    public async Task ANodeWithGoodSettingsStarts()
    {
        using var host = Host(new() { ["ChatPortal:Model:Simulated:TokensPerSecond"] = "50" });

        await host.StartAsync();

        Assert.Equal(50, host.Services.GetRequiredService<IOptions<ChatPortalOptions>>().Value.Model.Simulated.TokensPerSecond);
        await host.StopAsync();
    }

    [Fact]
    public void AValueThatIsNotANumberNamesItsKey()
    {
        using var host = Host(new() { ["ChatPortal:Limits:MaxMessageChars"] = "lots" });

        var error = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IOptions<ChatPortalOptions>>().Value);

        Assert.Contains("ChatPortal:Limits:MaxMessageChars", error.Message);
    }

    private static IHost Host(Dictionary<string, string?> settings)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMetrics();
        builder.Services.AddChatPortalCore(_ => "node-test");
        return builder.Build();
    }
}
