using System.Text.RegularExpressions;
using ChatPortal.Testing;

namespace ChatPortal.Tests.Unit;

/// <summary>
/// The shape of the code, read from its source: Core's namespaces form layers with no cycle (the engine on top,
/// coordination, ownership and the stores below it, the task model and the conversation model at the bottom), and
/// the web layer reaches Redis only through Core's interfaces.
/// </summary>
public sealed partial class LayeringTests
{
    private const string Core = "ChatPortal.Core";

    /// <summary>What nothing below the engine may use.</summary>
    private static readonly string[] BelowTheEngine =
        ["Tasks", "Conversations", "Configuration", "Storage", "Telemetry", "Coordination", "Ownership", "Redis", "Limits"];

    [Fact]
    public void CoreNamespacesDependOnEachOtherWithoutACycle()
    {
        var graph = CoreGraph();
        Assert.True(graph.Count >= 8, $"read {graph.Count} namespaces of Core: the scan found too little to judge");

        var cycle = FindCycle(graph);

        Assert.True(cycle is null, $"namespace cycle in Core: {string.Join(" -> ", cycle ?? [])}");
    }

    [Fact]
    public void NothingBelowTheEngineUsesTheEngine()
    {
        var graph = CoreGraph();

        var offenders = BelowTheEngine
            .Where(ns => graph.GetValueOrDefault($"{Core}.{ns}")?.Contains($"{Core}.Generation") == true)
            .ToList();

        Assert.Contains($"{Core}.Coordination", graph[$"{Core}.Generation"]);
        Assert.Empty(offenders);
    }

    [Fact]
    public void TheWebLayerDoesNotImportTheRedisImplementation()
    {
        var files = SourceFiles("ChatPortal", "*.cs").Concat(SourceFiles("ChatPortal", "*.razor")).ToList();
        Assert.NotEmpty(files);

        var importing = files.Where(f => RedisImport().IsMatch(File.ReadAllText(f))).Select(Path.GetFileName).ToList();

        Assert.Empty(importing);
    }

    [Fact]
    public void TheCycleFinderFindsACycle()
    {
        var graph = new Dictionary<string, HashSet<string>>
        {
            ["a"] = ["b"],
            ["b"] = ["c"],
            ["c"] = ["a"],
            ["d"] = ["a"],
        };

        Assert.Equal(["a", "b", "c", "a"], FindCycle(graph));
        Assert.Null(FindCycle(new Dictionary<string, HashSet<string>> { ["a"] = ["b"], ["b"] = [] }));
    }

    /// <summary>Namespace → the Core namespaces its files import (a using or a qualified name). The root namespace
    /// (the composition root and shared primitives such as ids) is left out.</summary>
    private static Dictionary<string, HashSet<string>> CoreGraph()
    {
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in SourceFiles(Core, "*.cs").Where(f => !f.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var text = File.ReadAllText(file);
            if (NamespaceDeclaration().Match(text) is not { Success: true } declared || declared.Groups[1].Value == Core)
            {
                continue;
            }

            var ns = declared.Groups[1].Value;
            var uses = graph.TryGetValue(ns, out var set) ? set : graph[ns] = [];
            foreach (Match used in CoreReference().Matches(text))
            {
                if (used.Groups[1].Value != ns)
                {
                    uses.Add(used.Groups[1].Value);
                }
            }
        }

        return graph;
    }

    private static List<string>? FindCycle(Dictionary<string, HashSet<string>> graph)
    {
        var state = new Dictionary<string, int>();
        var path = new List<string>();

        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return [.. path[path.IndexOf(next)..], next];
                }

                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }

        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    private static IEnumerable<string> SourceFiles(string project, string pattern) =>
        Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, project), pattern, SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [GeneratedRegex(@"^namespace ([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"(?<![\w.])(ChatPortal\.Core\.[A-Z]\w*)")]
    private static partial Regex CoreReference();

    [GeneratedRegex(@"^\s*@?using\s+ChatPortal\.Core\.Redis\b", RegexOptions.Multiline)]
    private static partial Regex RedisImport();
}
