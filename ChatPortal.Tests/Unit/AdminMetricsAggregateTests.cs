using ChatPortal.Admin;
using ChatPortal.Core.Telemetry;

namespace ChatPortal.Tests.Unit;

/// <summary>The overview's cluster figures: database statements and transactions are summed over the nodes.</summary>
public sealed class AdminMetricsAggregateTests
{
    [Fact]
    public void DatabaseTotalsAreSummedAcrossNodes()
    {
        var none = new LatencyPercentiles(null, null, null);
        MetricsSnapshot[] nodes =
        [
            new(10, 2, 2, 1, none, null, 0, DatabaseStatements: 70, DatabaseTransactions: 21),
            new(5, 2, 2, 1, none, null, 0, DatabaseStatements: 30, DatabaseTransactions: 9),
        ];

        var metrics = ClusterDashboardSource.Aggregate(nodes);

        Assert.Equal(15, metrics.Answers);
        Assert.Equal(100, metrics.DatabaseStatements);
        Assert.Equal(30, metrics.DatabaseTransactions);
    }

    [Fact]
    public void ANodeWithoutDatabaseFiguresCountsZero()
    {
        var snapshot = new MetricsSnapshot(1, null, null, null, new LatencyPercentiles(null, null, null), null, 0);
        Assert.Equal(0, ClusterDashboardSource.Aggregate([snapshot]).DatabaseTransactions);
    }
}
