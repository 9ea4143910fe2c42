namespace ChatPortal.Bench;

/// <summary>The run's tables on the console: every mode, the targets, push against the others.</summary>
public static class ConsoleReport
{
    public static void Write(BenchReport report, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"ChatPortal.Bench, {report.Options.Profile}: {report.Options.Nodes} nodes (single: 1), {report.Options.ResponseTokens}-token answers at {report.Options.TokensPerSecond} tokens/s, " +
            $"{report.Machine.Cores} cores, load before {report.LoadBefore}, took {report.Duration.TotalSeconds:0} s");
        foreach (var mode in report.Modes)
        {
            output.WriteLine();
            output.WriteLine($"== {mode.Name()}");
            output.Write(ResultTables.Mode(report, mode));
        }

        output.WriteLine();
        output.WriteLine("== database");
        output.Write(ResultTables.Database(report));
        output.WriteLine();
        output.WriteLine("== targets (push)");
        output.Write(Targets.Table(report));
        output.WriteLine();
        output.WriteLine("== push against polling and one node alone (SQLite)");
        output.Write(ResultTables.Ratios(report));
    }
}
