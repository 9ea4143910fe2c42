using System.Globalization;

namespace ChatPortal.Chaos;

/// <summary>Command line of the chaos run.</summary>
public sealed record ChaosOptions
{
    public const int ShortSeed = 20250101;

    public int Seed { get; init; } = Environment.TickCount & 0x7fffffff;

    /// <summary>Stop the load after this many answers (task events received); null: no count limit.</summary>
    public int? Answers { get; init; }

    /// <summary>Stop the load after this many minutes; null: no time limit (then Answers decides).</summary>
    public double? Minutes { get; init; }

    /// <summary>CI mode: fixed seed, every fault kind once, about two minutes.</summary>
    public bool Short { get; init; }

    public int Users { get; init; } = 24;

    public const string Usage = """
        ChatPortal.Chaos: PostgreSQL, redis-server and 3 nodes under random faults; checks the invariants.
          --seed N       seed of the fault schedule and of the users' choices (default: random)
          --answers N    stop after N answers
          --minutes M    stop after M minutes (default 5 when neither --answers nor --minutes is given)
          --users N      concurrent simulated users (default 24)
          --short        CI: fixed seed, every fault kind once, about 2 minutes
        Needs CHATPORTAL_NODE_DIR (a published node) or publishes one to artifacts/node.
        """;

    public static ChaosOptions Parse(string[] args)
    {
        var options = new ChaosOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--seed" => options with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--answers" => options with { Answers = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--minutes" => options with { Minutes = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--users" => options with { Users = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--short" => options with { Short = true },
                _ => throw new ArgumentException($"Unknown option {args[i]}.\n{Usage}"),
            };
        }

        if (options.Short)
        {
            options = options with { Seed = args.Contains("--seed") ? options.Seed : ShortSeed, Users = args.Contains("--users") ? options.Users : 16 };
        }
        else if (options.Answers is null && options.Minutes is null)
        {
            options = options with { Minutes = 5 };
        }

        return options;
    }

    public string ReplayArguments()
    {
        if (Short)
        {
            return Seed == ShortSeed ? "--short" : $"--short --seed {Seed}";
        }

        var parts = new List<string> { "--seed", Seed.ToString(CultureInfo.InvariantCulture) };
        if (Answers is { } answers)
        {
            parts.AddRange(["--answers", answers.ToString(CultureInfo.InvariantCulture)]);
        }

        if (Minutes is { } minutes)
        {
            parts.AddRange(["--minutes", minutes.ToString(CultureInfo.InvariantCulture)]);
        }

        if (Users != 24)
        {
            parts.AddRange(["--users", Users.ToString(CultureInfo.InvariantCulture)]);
        }

        return string.Join(' ', parts);
    }
}
