using ChatPortal.Bench;
using ChatPortal.Testing;

if (args.Contains("--help"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (args.Contains("--render"))
{
    // Markdown rendering of one streaming answer, whole text vs incremental: no nodes, no Redis.
    var at = Array.IndexOf(args, "--tokens");
    return RenderBenchmark.Run(Console.Out, at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : 4_000);
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var report = await new Benchmark(options, Console.Out).RunAsync();
ConsoleReport.Write(report, Console.Out);
if (options.Write)
{
    var directory = options.OutputDirectory ?? Path.Combine(RepositoryPaths.Root, "docs");
    var path = await Benchmark.WriteAsync(report, directory);
    Console.WriteLine($"\nWrote {path} and its charts.");
}

return 0;

/// <summary>
/// Internal on purpose: referencing the web project (for <c>--render</c>) brings ASP.NET Core's generator that
/// makes a top-level <c>Program</c> public, and the test project sees both this and the web app's <c>Program</c>.
/// </summary>
internal partial class Program;
