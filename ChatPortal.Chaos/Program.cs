using System.Diagnostics;
using ChatPortal.Chaos;
using ChatPortal.Testing;

if (args.Contains("--help"))
{
    Console.WriteLine(ChaosOptions.Usage);
    return 0;
}

ChaosOptions options;
try
{
    options = ChaosOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var log = Console.Out;
var clock = Stopwatch.StartNew();
void Log(string text) => log.WriteLine($"[{clock.Elapsed.TotalSeconds,7:0.0}s] {text}");

Log($"chaos run: seed {options.Seed}, {options.Users} users, {(options.Short ? "short" : $"{options.Minutes?.ToString() ?? "-"} min / {options.Answers?.ToString() ?? "-"} answers")}; node from {RepositoryPaths.NodeDirectory}");
await using var cluster = await ChaosCluster.StartAsync(log);
Log("cluster up");

var transcripts = new Transcripts();
var violations = new Violations();
var checker = new Checker(cluster, transcripts, violations);
var faults = new FaultInjector(cluster, new Random(options.Seed), options.Short, clock, log);

using var loadStop = new CancellationTokenSource();
using var faultStop = new CancellationTokenSource();
using var observeStop = new CancellationTokenSource();
var exitCode = 0;
try
{
    var users = Enumerable.Range(0, options.Users)
        .Select(i => new SimulatedUser(i, cluster, transcripts, new Random(unchecked(options.Seed + (1000 * (i + 1))))).RunAsync(loadStop.Token))
        .ToList();
    var faulting = faults.RunAsync(faultStop.Token);
    var observing = ObserveAsync(observeStop.Token);

    // The load runs until the minutes or the answers are reached (short: until every fault kind ran once).
    var deadline = options.Minutes is { } minutes ? clock.Elapsed + TimeSpan.FromMinutes(minutes) : TimeSpan.MaxValue;
    var lastReport = clock.Elapsed;
    while (true)
    {
        await Task.Delay(500);
        if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(15))
        {
            lastReport = clock.Elapsed;
            Log($"answers {transcripts.TasksStarted}, streams {transcripts.Streams.Count}, violations so far {violations.Total}");
        }

        if (options.Short ? faulting.IsCompleted : clock.Elapsed > deadline || transcripts.TasksStarted >= (options.Answers ?? int.MaxValue))
        {
            break;
        }
    }

    Log("stopping faults");
    await faultStop.CancelAsync();
    await faulting;
    if (options.Short)
    {
        await Task.Delay(TimeSpan.FromSeconds(5));
    }

    Log("stopping load; waiting for every stream to end");
    await loadStop.CancelAsync();
    await Task.WhenAny(Task.WhenAll(users), Task.Delay(TimeSpan.FromSeconds(150)));

    // Quiescence: lease timeout + janitor, then until no claim is left (bounded).
    Log("quiescence: lease timeout + janitor");
    await Task.Delay(TimeSpan.FromSeconds(15));
    for (var i = 0; i < 30; i++)
    {
        var left = await cluster.Postgres.ExecuteScalarAsync(ChaosCluster.Database, "SELECT count(*) FROM conversations WHERE active_task_id IS NOT NULL");
        if (Convert.ToInt64(left, System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            break;
        }

        await Task.Delay(1000);
    }

    await observeStop.CancelAsync();
    await observing;
    Log("checking invariants");
    await checker.CheckAsync();
}
catch (Exception ex)
{
    Log($"the chaos run itself failed: {ex}");
    exitCode = 2;
}
finally
{
    await faultStop.CancelAsync();
    await loadStop.CancelAsync();
    await observeStop.CancelAsync();
    await cluster.ThawAllAsync();
}

ChaosReport.Write(log, options, transcripts, checker, faults, violations, cluster, clock.Elapsed);
if (violations.Total > 0)
{
    var dir = Path.Combine(RepositoryPaths.ArtifactsDirectory, "chaos");
    Directory.CreateDirectory(dir);
    foreach (var node in cluster.AllProcesses())
    {
        await File.WriteAllTextAsync(Path.Combine(dir, $"{node.NodeId}.log"), node.Log);
    }

    await File.WriteAllLinesAsync(Path.Combine(dir, "violations.txt"), Violations.Names.Keys.SelectMany(k => violations.Of(k).Select(v => $"{k}\t{v.Id}\t{v.Detail}")));
    Log($"node logs and violations written to {dir}");
    exitCode = 1;
}

return exitCode;

async Task ObserveAsync(CancellationToken stop)
{
    var next = TimeSpan.Zero;
    while (!stop.IsCancellationRequested)
    {
        cluster.ScanLogs();
        if (clock.Elapsed >= next)
        {
            next = clock.Elapsed + TimeSpan.FromSeconds(5);
            await checker.SampleClaimsAsync();
        }

        try
        {
            await Task.Delay(1000, stop);
        }
        catch (OperationCanceledException)
        {
            return;
        }
    }
}
