using ChatPortal.Bench;
using ChatPortal.Testing;

if (args.Contains("--help"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
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
