using Bunit;
using ChatPortal.Admin;
using ChatPortal.Components.Pages.Admin;
using static ChatPortal.Tests.Components.Admin.AdminTestData;

namespace ChatPortal.Tests.Components.Admin;

public sealed class OverheadCardTests : ComponentTest
{
    [Fact]
    public void TheCoordinationFiguresAreShown()
    {
        var cut = RenderCard(
            Metrics(
                commandsPerAnswer: 6.2,
                overheadMsPerAnswer: 0.84,
                cancelLatencyMs: new LatencyMs(1.4, 3.1, 7.6),
                cancelFirstAttemptSuccessRate: 0.875,
                cancelAttempts: 8),
            history: []);

        Assert.Equal($"{6.2:0.0}", Stat(cut, "Redis commands / answer"));
        Assert.Equal($"{0.84:0.00} ms", Stat(cut, "coordination / answer"));
        Assert.Equal($"{1.4:0.0} / {3.1:0.0} / {7.6:0.0} ms", Stat(cut, "Stop accepted → confirmed, p50 / p95 / p99"));
        Assert.Equal($"{87.5:0.#} %", Stat(cut, "Stop confirmed on first click"));
        Assert.Contains("(8)", cut.Find("[data-testid=metric-cancel-success] .cp-stat-label").TextContent);
    }

    [Fact]
    public void FiguresNotMeasuredYetAreDashes()
    {
        var cut = RenderCard(Metrics(answers: 0, commandsPerAnswer: null, overheadMsPerAnswer: null), history: []);

        Assert.Equal("—", Stat(cut, "Redis commands / answer"));
        Assert.Equal("— / — / — ms", Stat(cut, "Stop accepted → confirmed, p50 / p95 / p99"));
        Assert.Equal("—", Stat(cut, "Stop confirmed on first click"));
    }

    [Fact]
    public void WithFewerThanTwoSamplesACaptionStandsInForTheCharts()
    {
        var cut = RenderCard(Metrics(), history: [Sample(secondsAgo: 0)]);

        Assert.Contains("Charts appear", cut.Markup);
        Assert.Empty(cut.FindAll(".cp-charts"));
        Assert.Empty(cut.FindAll("svg"));
    }

    [Fact]
    public void WithSamplesBothChartsAreDrawn()
    {
        var cut = RenderCard(Metrics(), history: [Sample(secondsAgo: 10), Sample(secondsAgo: 5, activeTasks: 3), Sample(secondsAgo: 0, activeTasks: 2)]);

        Assert.DoesNotContain("Charts appear", cut.Markup);
        var charts = cut.FindAll(".cp-charts > div");
        Assert.Equal(2, charts.Count);
        // Each chart draws its two series: active answers and tokens/s; cancel p95 and Redis ping.
        Assert.All(charts, chart => Assert.Equal(2, chart.QuerySelectorAll("svg path.mud-chart-serie.mud-chart-line").Length));
    }

    [Fact]
    public void NewSamplesRedrawTheCharts()
    {
        var cut = RenderCard(Metrics(), history: []);

        cut.Render(p => p.Add(c => c.History, [Sample(secondsAgo: 5), Sample(secondsAgo: 0)]));

        Assert.DoesNotContain("Charts appear", cut.Markup);
        Assert.Equal(2, cut.FindAll(".cp-charts > div").Count(chart => chart.QuerySelector("svg") is not null));
    }

    private IRenderedComponent<OverheadCard> RenderCard(AdminMetrics metrics, IReadOnlyList<MetricsSample> history) =>
        Render<OverheadCard>(p => p.Add(c => c.Metrics, metrics).Add(c => c.History, history));

    private static string Stat(IRenderedComponent<OverheadCard> cut, string label)
    {
        var stat = cut.FindAll(".cp-stat").Single(s => s.QuerySelector(".cp-stat-label")!.TextContent.StartsWith(label, StringComparison.Ordinal));
        return stat.QuerySelector(".cp-stat-value")!.TextContent.Trim();
    }
}
