using Bunit;
using ChatPortal.Admin;
using ChatPortal.Components.Pages.Admin;
using ChatPortal.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPortal.Tests.Components.Admin;

public sealed class DatabaseHealthCardTests : ComponentTest
{
    private readonly DatabaseHealth _health = new(TimeProvider.System) { Provider = "Postgres" };

    public DatabaseHealthCardTests() => Services.AddSingleton(_health);

    [Fact]
    public void AHealthyDatabaseShowsItsProviderAndWhatAnAnswerCostsIt()
    {
        var cut = Render<DatabaseHealthCard>(p => p.Add(c => c.Metrics, Metrics(answers: 10, statements: 95, transactions: 21)));

        var card = cut.Find("[data-testid=admin-database-status]");
        Assert.Equal("healthy", card.GetAttribute("data-status"));
        Assert.Contains("Postgres", card.TextContent);
        Assert.Contains("2.1", card.TextContent);
        Assert.Contains("9.5", card.TextContent);
    }

    [Fact]
    public void AnOutageTurnsTheCardRedWithTheErrorAndTheAnswersWaitingInMemory()
    {
        var cut = Render<DatabaseHealthCard>(p => p.Add(c => c.Metrics, Metrics(answers: 0, statements: 0, transactions: 0)));

        _health.ReportFailure(new TimeoutException("the server closed the connection"));
        _health.SetAnswersWaiting(3);

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("down", cut.Find("[data-testid=admin-database-status]").GetAttribute("data-status"));
            Assert.Equal("3", cut.Find("[data-testid=admin-database-waiting]").TextContent.Trim());
            Assert.Contains("the server closed the connection", cut.Find(".cp-last-error").TextContent);
        }, TimeSpan.FromSeconds(1));
    }

    private static AdminMetrics Metrics(long answers, long statements, long transactions) =>
        new(answers, null, null, null, new LatencyMs(null, null, null), null, 0, statements, transactions);
}
