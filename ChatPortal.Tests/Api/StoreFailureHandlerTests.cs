using System.Text.Json;
using ChatPortal.Core.Conversations;
using ChatPortal.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Api;

/// <summary>Storage failures reach clients as problem details, never as a 500.</summary>
public sealed class StoreFailureHandlerTests
{
    [Fact]
    public async Task AnUnreachableDatabaseIsA503WithRetryAfter()
    {
        var (handled, context, body) = await HandleAsync(new StoreUnavailableException("Sending a message"));

        Assert.True(handled);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal("2", context.Response.Headers.RetryAfter.ToString());
        Assert.Contains("database is unreachable", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ABrokenConstraintIsA409NotA500()
    {
        var (handled, context, body) = await HandleAsync(new DbUpdateException("duplicate key value violates unique constraint \"pk_messages\""));

        Assert.True(handled);
        Assert.Equal(StatusCodes.Status409Conflict, context.Response.StatusCode);
        Assert.Equal("Conflicting change", body.GetProperty("title").GetString());
        Assert.DoesNotContain("pk_messages", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task RedisFailingARequestThatNeedsItIsA503NotA500()
    {
#pragma warning disable CS0618 // the test builds the exception the client throws; its newer constructor takes internal flags
        var (handled, context, body) = await HandleAsync(new StackExchange.Redis.RedisConnectionException(StackExchange.Redis.ConnectionFailureType.UnableToConnect, "No connection is active/available to service this operation: SUBSCRIBE"));
#pragma warning restore CS0618

        Assert.True(handled);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal("2", context.Response.Headers.RetryAfter.ToString());
        Assert.Equal("Shared state unavailable", body.GetProperty("title").GetString());
        Assert.DoesNotContain("SUBSCRIBE", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task OtherFailuresAreLeftToTheDefaultHandler()
    {
        var (handled, _, _) = await HandleAsync(new InvalidOperationException("a bug"));

        Assert.False(handled);
    }

    private static async Task<(bool Handled, HttpContext Context, JsonElement Body)> HandleAsync(Exception exception)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Headers.Accept = "application/json";
        var body = new MemoryStream();
        context.Response.Body = body;
        var handler = new StoreFailureHandler(services.GetRequiredService<IProblemDetailsService>());

        var handled = await handler.TryHandleAsync(context, exception, CancellationToken.None);

        var json = body.Length == 0 ? default : JsonDocument.Parse(body.ToArray()).RootElement;
        return (handled, context, json);
    }
}
