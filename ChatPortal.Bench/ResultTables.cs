namespace ChatPortal.Bench;

/// <summary>The tables both reports print: each mode's figures per level, and push against the other two modes.</summary>
public static class ResultTables
{
    public static TextTable Mode(BenchReport report, CoordinationMode mode)
    {
        var table = new TextTable(
            "streams", "answers (done/cancelled)", "cmds/answer all in", "answer path", "cmds/chunk", "coord cmds/answer", "round trips/answer", "coord ms/answer",
            "node CPU ms/answer", "peak RSS/node MiB", "cancel p50 / p95 / p99 ms", "cancel first try", "tokens/s", "token lateness p50 / p99 ms", "machine busy (outside)");
        foreach (var r in report.Of(mode))
        {
            table.Add(
                r.Streams.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"{r.Answers}/{r.Streams} ({r.Completed}/{r.Cancelled})",
                Figure.Number(r.CommandsPerAnswer),
                Figure.Number(r.AnswerPathCommandsPerAnswer),
                Figure.Number(r.CommandsPerChunk, 3),
                Figure.Number(r.Coordination?.CommandsPerAnswer),
                Figure.Number(r.Coordination?.RoundTripsPerAnswer, 2),
                Figure.Number(r.Coordination?.OverheadMsPerAnswer, 2),
                Figure.Number(r.CpuMsPerAnswer),
                Figure.Number(r.PeakRssMiB, 0),
                r.CancelLatencyMs is { } l ? $"{Figure.Number(l.P50)} / {Figure.Number(l.P95)} / {Figure.Number(l.P99)}" : Figure.NotMeasured,
                Figure.Percent(r.FirstAttemptSuccess, 1),
                Figure.Number(r.TokensPerSecond, 0),
                r.TokenLatenessMs is { } t ? $"{Figure.Number(t.P50)} / {Figure.Number(t.P99)}" : Figure.NotMeasured,
                $"{Figure.Percent(r.MachineBusy)} ({Figure.Percent(r.OutsideBusy)})");
        }

        return table;
    }

    /// <summary>The database side of every mode and level: what the nodes counted, what PostgreSQL counted, and CPU.</summary>
    public static TextTable Database(BenchReport report)
    {
        var table = new TextTable(
            "mode", "streams", "db transactions/answer all in", "answer path", "title writes/answer", "statements/answer all in", "answer path", "db transactions/chunk",
            "PostgreSQL commits/answer all in", "answer path", "node CPU ms/answer", "Redis + PostgreSQL CPU ms/answer", "cluster CPU ms/answer");
        foreach (var r in report.Modes.SelectMany(report.Of))
        {
            table.Add(
                $"{r.Mode.Name()} ({r.Mode.Database()})",
                r.Streams.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Figure.Number(r.DbTransactionsPerAnswer, 2),
                Figure.Number(r.AnswerPathDbTransactionsPerAnswer, 2),
                Figure.Number(r.TitleWritesPerAnswer, 2),
                Figure.Number(r.DbStatementsPerAnswer, 2),
                Figure.Number(r.AnswerPathDbStatementsPerAnswer, 2),
                Figure.Number(r.DbTransactionsPerChunk, 4),
                Figure.Number(r.PostgresCommitsPerAnswer, 2),
                Figure.Number(r.AnswerPathPostgresCommitsPerAnswer, 2),
                Figure.Number(r.CpuMsPerAnswer),
                Figure.Number(r.ServerCpuMsPerAnswer),
                Figure.Number(r.ClusterCpuMsPerAnswer));
        }

        return table;
    }

    /// <summary>Cancel latency in detail: click → stream ended, and click → the cancel request's answer.</summary>
    public static TextTable Cancels(BenchReport report)
    {
        var table = new TextTable("mode", "streams", "cancels", "click → done p50 / p95 / p99 / max ms", "click → 200 p50 / p99 ms", "first try");
        foreach (var r in report.Modes.SelectMany(report.Of))
        {
            table.Add(
                r.Mode.Name(),
                r.Streams.ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.CancelAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.CancelLatencyMs is { } l ? $"{Figure.Number(l.P50)} / {Figure.Number(l.P95)} / {Figure.Number(l.P99)} / {Figure.Number(l.Max)}" : Figure.NotMeasured,
                r.CancelResponseMs is { } c ? $"{Figure.Number(c.P50)} / {Figure.Number(c.P99)}" : Figure.NotMeasured,
                Figure.Percent(r.FirstAttemptSuccess, 1));
        }

        return table;
    }

    /// <summary>Push ÷ polling and push ÷ one node alone (SQLite) for the figures where the comparison means something.</summary>
    public static TextTable Ratios(BenchReport report)
    {
        var table = new TextTable(
            "streams", "cmds/answer push ÷ polling", "cmds/chunk polling − push", "cancel p50 polling ÷ push", "cancel p99 polling ÷ push",
            "cluster CPU/answer push ÷ polling", "node CPU/answer push ÷ single", "cluster CPU/answer push ÷ single", "RSS/node push ÷ single", "cancel p99 push − single ms", "tokens/s push ÷ single");
        foreach (var streams in report.Levels)
        {
            var push = report.Find(CoordinationMode.Push, streams);
            var polling = report.Find(CoordinationMode.Polling, streams);
            var single = report.Find(CoordinationMode.Single, streams);
            table.Add(
                streams.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Figure.Ratio(Figure.Divide(push?.CommandsPerAnswer, polling?.CommandsPerAnswer)),
                Figure.Number(polling?.CommandsPerChunk - push?.CommandsPerChunk, 3),
                Figure.Ratio(Figure.Divide(polling?.CancelLatencyMs?.P50, push?.CancelLatencyMs?.P50)),
                Figure.Ratio(Figure.Divide(polling?.CancelLatencyMs?.P99, push?.CancelLatencyMs?.P99)),
                Figure.Ratio(Figure.Divide(push?.ClusterCpuMsPerAnswer, polling?.ClusterCpuMsPerAnswer)),
                Figure.Ratio(Figure.Divide(push?.CpuMsPerAnswer, single?.CpuMsPerAnswer)),
                Figure.Ratio(Figure.Divide(push?.ClusterCpuMsPerAnswer, single?.CpuMsPerAnswer)),
                Figure.Ratio(Figure.Divide(push?.PeakRssMiB, single?.PeakRssMiB)),
                Figure.Number(push?.CancelLatencyMs?.P99 - single?.CancelLatencyMs?.P99),
                Figure.Ratio(Figure.Divide(push?.TokensPerSecond, single?.TokensPerSecond)));
        }

        return table;
    }

    /// <summary>Redis commands per answer by command name (all in), push and polling, at one level.</summary>
    public static TextTable CommandBreakdown(BenchReport report, int streams)
    {
        var push = report.Find(CoordinationMode.Push, streams)?.CommandsByName ?? new Dictionary<string, double>();
        var polling = report.Find(CoordinationMode.Polling, streams)?.CommandsByName ?? new Dictionary<string, double>();
        var table = new TextTable("command", "push per answer", "polling per answer");
        foreach (var name in push.Keys.Union(polling.Keys).OrderByDescending(n => push.GetValueOrDefault(n) + polling.GetValueOrDefault(n)))
        {
            table.Add(name, Figure.Number(push.GetValueOrDefault(name), 2), Figure.Number(polling.GetValueOrDefault(name), 2));
        }

        table.Add("total", Figure.Number(push.Values.Sum(), 2), Figure.Number(polling.Values.Sum(), 2));
        return table;
    }
}
