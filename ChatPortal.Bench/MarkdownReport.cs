using System.Globalization;
using System.Text;

namespace ChatPortal.Bench;

/// <summary>
/// docs/BENCHMARKS.md: the command, the machine, the targets and their misses, every mode's table, the database, the ratios and the charts.
/// The hand-written analysis between the analysis markers of the existing file is kept across runs.
/// </summary>
public static class MarkdownReport
{
    public const string AnalysisStart = "<!-- analysis:start -->";
    public const string AnalysisEnd = "<!-- analysis:end -->";

    public static string Render(BenchReport report, string? analysis = null)
    {
        var o = report.Options;
        var m = report.Machine;
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Written by `ChatPortal.Bench` ({o.Profile} profile) on {report.StartedAt:yyyy-MM-dd HH:mm} UTC; the run took {report.Duration.TotalMinutes:0.0} min. To reproduce:");
        md.AppendLine();
        md.AppendLine("```sh");
        md.AppendLine("dotnet publish ChatPortal -c Release -o /tmp/bench-node   # the nodes run from a publish folder");
        md.AppendLine("export CHATPORTAL_NODE_DIR=/tmp/bench-node");
        md.AppendLine(o.Command);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("`--quick` runs 10 and 100 streams (about three minutes); without it the full run adds 300 (`--levels 10,100,300,1000` adds the saturation level). PostgreSQL must be installed (`/usr/lib/postgresql/*/bin`) for the cluster modes.");
        md.AppendLine();

        md.AppendLine("## Machine and conditions");
        md.AppendLine();
        md.Append(new TextTable("", "")
            .Add("CPU", $"{m.Cores} cores, {m.CpuModel}")
            .Add("memory", $"{m.MemoryGiB:0.0} GiB")
            .Add("OS", $"{m.OperatingSystem}, Linux {m.Kernel}")
            .Add(".NET", m.DotNet)
            .Add("redis-server", m.RedisServer)
            .Add("PostgreSQL", ChatPortal.Testing.PostgresServer.FindBinDirectory() is { } bin ? $"{Path.GetFileName(Path.GetDirectoryName(bin))} (fsync on, synchronous_commit on)" : "not installed")
            .Add("load average before the run (1 / 5 / 15 min)", report.LoadBefore)
            .Add("load average after the run", report.LoadAfter + " (includes this run)"));
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"""
            Everything runs on this one machine over loopback: redis-server, PostgreSQL, {o.Nodes} node processes per
            cluster mode and one for the single node (`dotnet ChatPortal.dll`, Release, Production, from a publish folder),
            and this benchmark's simulated users, so they share the same {m.Cores} cores. Each cluster mode has its own
            fresh redis-server, PostgreSQL and nodes for the whole run, the single node its own SQLite file; the levels
            are interleaved (each level runs push, single, polling in turn while the other setups idle), so a change in
            the machine's load from outside hits all modes alike.
            """);
        md.AppendLine();

        md.AppendLine("## Setup");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"""
            - Simulated model: {o.ResponseTokens}-token answers at {o.TokensPerSecond.ToString(CultureInfo.InvariantCulture)} tokens/s each, no first-token delay; one token per SSE `delta`.
            - A level of N streams: N users, each with its own cookie, creates a conversation on its home node (user i on node i mod {o.Nodes}; not measured), then all send one message, starting evenly over {o.Ramp.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, and read the SSE stream to `done`.
            - {o.CancelShare * 100:0} % of the users press Stop after 3 to 22 deltas (spread evenly, so the polling baseline's 10-chunk interval is sampled fairly): `POST /api/tasks/{"{id}"}/cancel` through a node other than the owner named by the `task` event (push, polling), or the node itself (single: there is no other).
            - Modes: **push** = ChatPortal's cluster: {o.Nodes} nodes, PostgreSQL as the system of record (one transaction to start an answer, one to end it), Redis for the Stop push and two SPUBLISHes (sharded PUBLISH) per answer; **single** = one node alone on its own SQLite file, no Redis (the floor a cluster's CPU is held against); **polling** = the replaced fix, `ChatPortal__Internal__CancelStrategy=PollingBaseline` (a Redis flag the owner checks every 10 chunks), otherwise as push.
            - Rate limits lifted for the run (`Limits__MessagesPerMinute`, `Limits__MessagesPerMinutePerAddress`, `Limits__ConcurrentAnswersPerUser`): every simulated user comes from 127.0.0.1.
            - PostgreSQL's statistics are read only after they settled ({o.PostgresSettle.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s after the users of a level are prepared, and after the level's quiet gap, which is that long in the cluster modes).
            - Before the levels, {o.WarmupRounds} unreported warm-up levels of {o.WarmupStreams} streams JIT-compile every path (and let tiered compilation recompile the hot ones); after each level the cluster stays quiet for {o.IdleGap.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.
            """);
        md.AppendLine();

        md.AppendLine("## Targets");
        md.AppendLine();
        md.AppendLine("Push mode's figure at each level, next to its target (the polling baseline at the cancel-target level for reference).");
        md.AppendLine();
        md.Append(Targets.Table(report));
        md.AppendLine();
        md.AppendLine(Misses(report));
        md.AppendLine();
        if (report.CancelTargetLevel != BenchReport.CancelTargetStreams)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"This run has no {BenchReport.CancelTargetStreams}-stream level; the cancel targets stated there are read at {report.CancelTargetLevel} streams.");
            md.AppendLine();
        }

        md.AppendLine("## Results");
        md.AppendLine();
        foreach (var mode in report.Modes)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"### {mode.Name()}");
            md.AppendLine();
            md.Append(ResultTables.Mode(report, mode));
            md.AppendLine();
        }

        md.AppendLine("### Database");
        md.AppendLine();
        md.AppendLine("Node-reported figures come from each node's `/metrics` (`chatportal.db.statements`, `chatportal.db.transactions`, `chatportal.db.title_writes`); PostgreSQL's from `pg_stat_database.xact_commit` of the bench database.");
        md.AppendLine();
        md.Append(ResultTables.Database(report));
        md.AppendLine();

        md.AppendLine("### Cancels in detail");
        md.AppendLine();
        md.Append(ResultTables.Cancels(report));
        md.AppendLine();

        md.AppendLine("## Push against polling and one node alone (SQLite)");
        md.AppendLine();
        md.Append(ResultTables.Ratios(report));
        md.AppendLine();

        md.AppendLine(CultureInfo.InvariantCulture, $"## Where the Redis commands go ({report.CancelTargetLevel} streams, per answer, all in)");
        md.AppendLine();
        md.Append(ResultTables.CommandBreakdown(report, report.CancelTargetLevel));
        md.AppendLine();

        md.AppendLine("## Charts");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![Cancel latency against concurrency, push and polling](images/{BenchCharts.CancelLatencyFile})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![Redis commands per answer against concurrency, push, polling and one node alone](images/{BenchCharts.RedisCommandsFile})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![Database transactions per answer against concurrency, push and one node alone](images/{BenchCharts.DatabaseFile})");
        md.AppendLine();

        md.AppendLine("## Where this machine stops");
        md.AppendLine();
        md.AppendLine(Saturation(report));
        md.AppendLine();

        md.AppendLine("## How each figure is measured");
        md.AppendLine();
        md.AppendLine("""
            - **cmds/answer all in**: `INFO commandstats` delta from the first message sent to the last `done`, divided by the answers; everything counted (commands run by scripts, node heartbeats, janitor, watchdog, the dashboard's 5 s sampler), except the benchmark's own `INFO` (read over a bare RESP connection). Conversation creation happens before the window.
            - **answer path**: the same without the nodes' idle background, i.e. minus (idle commands/s, sampled in the quiet gaps after each level) × level duration.
            - **cmds/chunk**: in the level's steady window (every stream running, every cancel settled, no answer ended yet) the commands beyond the idle background, divided by the chunks delivered in that window; n/a when a level has no such window.
            - **db transactions/answer, statements/answer**: each node's `/metrics` (EF Core interceptor `DbStatementCounter`: every statement; a transaction is an explicit commit or a statement outside one), summed over the nodes, from the measurement's start to the end of the quiet gap after the level (so commits that land after the last `done` count), divided by the answers. **answer path**: minus the nodes' idle database rate (lease renewals, janitor; sampled in the quiet gaps) × that span, and minus the model-written titles (**title writes/answer**: one `UPDATE` after a conversation's first completed answer, counted by the nodes apart). A Stop is recorded in the database as well, so the cancelled share of answers adds its statements. **db transactions/chunk**: the nodes' transactions in the steady window ÷ its chunks, lease renewals left in (an upper bound).
            - **PostgreSQL commits/answer**: `pg_stat_database.xact_commit` of the bench database (read from another database, so the reading is not counted) over the same span, divided by the answers; it also counts what the server sees that EF does not (e.g. a statement Npgsql sends on its own). **answer path**: minus the nodes' idle transaction rate × the span.
            - **Redis + PostgreSQL CPU, cluster CPU**: utime + stime of the redis-server, the postmaster and its children (backends) over the level, per answer; cluster CPU = node CPU + that. One node alone runs its SQLite in-process, so its node CPU is its whole cost.
            - **coord cmds/answer, round trips/answer, coord ms/answer**: the nodes' own figures (`GET /api/admin/overview`), read as deltas of answers × mean between two readings: the coordinator's start and end work per answer. They do not include the polling baseline's per-chunk checks, which commandstats does count.
            - **node CPU ms/answer**: sum over the node processes of `/proc/<pid>/stat` utime + stime over the level, divided by the answers (idle work of the nodes during the level included).
            - **peak RSS/node**: the highest `VmRSS` (`/proc/<pid>/status`) any node reached, sampled every 250 ms; nodes live through all levels of a mode, so later levels include what earlier ones left.
            - **cancel p50 / p95 / p99**: from sending `POST /api/tasks/{id}/cancel` to receiving `done` on the owner's stream (nearest rank). **first try**: share of cancels answered 200 with the final state (202 = not confirmed within 2 s).
            - **tokens/s**: deltas received by all users over the level's duration. **token lateness**: per stream, how far its latest token arrived behind the model's clock (counted from its first token), p50 and p99 over the streams; a level holds while p99 ≤ 100 ms (beyond that tokens queue up and arrive in bursts: the machine no longer keeps up). **machine busy**: `/proc/stat`, all processes; in brackets the part that was not this benchmark's processes (all its nodes and redis-servers, and itself): other work on the shared machine.
            """);
        md.AppendLine();

        md.AppendLine("## Analysis");
        md.AppendLine();
        md.AppendLine(AnalysisStart);
        md.AppendLine(analysis?.Trim() ?? "_Not written yet: what the figures mean, and the cause of any missed target._");
        md.AppendLine(AnalysisEnd);
        return md.ToString();
    }

    /// <summary>Writes the report over <paramref name="path"/>, keeping the analysis block of the file already there.</summary>
    public static async Task WriteAsync(BenchReport report, string path)
    {
        string? analysis = null;
        if (File.Exists(path))
        {
            var existing = await File.ReadAllTextAsync(path);
            var start = existing.IndexOf(AnalysisStart, StringComparison.Ordinal);
            var end = existing.IndexOf(AnalysisEnd, StringComparison.Ordinal);
            if (start >= 0 && end > start)
            {
                analysis = existing[(start + AnalysisStart.Length)..end];
            }
        }

        await File.WriteAllTextAsync(path, Render(report, analysis));
    }

    private static string Saturation(BenchReport report)
    {
        var text = new StringBuilder();
        text.Append(report.HighestHeldLevel is { } held
            ? $"Every mode held up to **{held} streams** on {report.Options.Nodes} nodes (every stream ended, and in 99 % of the streams no token came more than {BenchReport.HoldingLatenessMs:0} ms behind the model's pace)."
            : "Not even the lowest level held in every mode.");
        foreach (var result in report.Results.Where(r => !BenchReport.Holds(r)).OrderBy(r => r.Streams).ThenBy(r => r.Mode))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n- {result.Mode.Name()} at {result.Streams} streams did not hold: token lateness p99 {Figure.Number(result.TokenLatenessMs?.P99, 0)} ms, {result.NotEnded} streams not ended, machine {Figure.Percent(result.MachineBusy)} busy ({Figure.Percent(result.OutsideBusy)} outside work), cancel p99 {Figure.Number(result.CancelLatencyMs?.P99)} ms.");
        }

        return text.ToString();
    }

    /// <summary>Each missed target with its figure and the usual cause; the analysis says what this run shows.</summary>
    private static string Misses(BenchReport report)
    {
        var misses = Targets.Misses(report);
        if (misses.Count == 0)
        {
            return "Every target was met where it is stated.";
        }

        var text = new StringBuilder("Missed (push, where the target is stated):");
        foreach (var (target, streams, figure) in misses)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n- **{target.Name}** at {streams} streams: {figure}. Usual cause: {target.Cause}.");
        }

        text.Append("\n\nSee the analysis at the end for what this run shows about each.");
        return text.ToString();
    }
}
