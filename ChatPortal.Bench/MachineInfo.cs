using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace ChatPortal.Bench;

/// <summary>The machine a run measured, from /proc and the tools themselves.</summary>
public sealed record MachineInfo(int Cores, string CpuModel, double MemoryGiB, string OperatingSystem, string Kernel, string DotNet, string RedisServer)
{
    public static async Task<MachineInfo> ReadAsync()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name", ':') ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memoryKb = ReadField("/proc/meminfo", "MemTotal", ':')?.Split(' ')[0];
        var os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        var kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "";
        return new MachineInfo(
            Environment.ProcessorCount,
            cpu,
            memoryKb is null ? 0 : long.Parse(memoryKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0,
            os,
            kernel,
            RuntimeInformation.FrameworkDescription,
            await RedisServerVersionAsync());
    }

    /// <summary>The 1, 5 and 15 minute load averages.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? ReadField(string path, string name, char separator)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        return File.ReadLines(path)
            .Where(l => l.StartsWith(name, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(separator) + 1)..].Trim())
            .FirstOrDefault();
    }

    private static async Task<string> RedisServerVersionAsync()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("redis-server", "--version") { RedirectStandardOutput = true })!;
            var text = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var version = text.Split(' ').FirstOrDefault(p => p.StartsWith("v=", StringComparison.Ordinal));
            return version?[2..] ?? text.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }
}
