namespace ChatPortal.Tests.Api;

/// <summary>Invalid configuration stops the node at start with a message naming the key.</summary>
public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("ChatPortal:Model:Simulated:TokensPerSecond", "0")]
    [InlineData("ChatPortal:Limits:MaxMessageChars", "-5")]
    [InlineData("ChatPortal:KeyPrefix", "has spaces")]
    [InlineData("ChatPortal:Security:TrustedProxies:0", "not-an-address")]
    [InlineData("ChatPortal:Security:SignIn:MaxBackoffSeconds", "0")]
    public void AnInvalidSettingStopsTheNodeNamingTheKey(string key, string value)
    {
        using var node = new ChatPortalNode("node-invalid", new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => node.StartServer());

        Assert.Contains(key, Flatten(error));
    }

    [Fact]
    public void OutsideDevelopmentANodeRefusesToStartWithoutAnAdminPassword()
    {
        using var node = new ChatPortalNode("node-nopassword", new Dictionary<string, string?> { ["ChatPortal:Admin:Password"] = "" });

        var error = Assert.ThrowsAny<Exception>(() => node.StartServer());

        Assert.Contains("ChatPortal:Admin:Password", Flatten(error));
    }

    private static string Flatten(Exception error) =>
        error is AggregateException aggregate
            ? string.Join('\n', aggregate.Flatten().InnerExceptions.Select(e => e.Message))
            : error.Message + (error.InnerException is null ? "" : "\n" + Flatten(error.InnerException));
}
