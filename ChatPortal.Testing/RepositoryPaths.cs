using System.Diagnostics;

namespace ChatPortal.Testing;

/// <summary>Where the repository and the published node are.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> PublishedNode = new(PublishNode);

    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ChatPortal.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("ChatPortal.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>
    /// The published node (<c>artifacts/node</c>, made by ./test.sh). Published here when missing, so a plain
    /// <c>dotnet test</c> works too. Nodes run from there: static web assets are served from a publish folder.
    /// </summary>
    public static string NodeDirectory => PublishedNode.Value;

    public static string ArtifactsDirectory => Path.Combine(Root, "artifacts");

    private static string PublishNode()
    {
        var configured = Environment.GetEnvironmentVariable("CHATPORTAL_NODE_DIR");
        var directory = configured ?? Path.Combine(ArtifactsDirectory, "node");
        if (File.Exists(Path.Combine(directory, "ChatPortal.dll")))
        {
            return directory;
        }

        var info = new ProcessStartInfo("dotnet", ["publish", Path.Combine(Root, "ChatPortal", "ChatPortal.csproj"), "-c", "Release", "-o", directory, "--nologo"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed:\n{output.Result}\n{error.Result}");
        }

        return directory;
    }
}
