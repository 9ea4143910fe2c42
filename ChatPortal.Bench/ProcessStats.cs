using System.Diagnostics;
using System.Globalization;

namespace ChatPortal.Bench;

/// <summary>
/// What Linux says about the node processes and the machine: CPU time (<c>/proc/&lt;pid&gt;/stat</c> utime + stime,
/// through <see cref="Process.TotalProcessorTime"/>), resident memory (<c>VmRSS</c> of <c>/proc/&lt;pid&gt;/status</c>)
/// and the machine's busy share (<c>/proc/stat</c>).
/// </summary>
public static class ProcessStats
{
    /// <summary>CPU time of a process; zero once it is gone.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            // VmRSS:	  123456 kB
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line[6..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>Jiffies of all CPUs: busy and total, from the first line of /proc/stat.</summary>
    public static MachineCpu MachineCpu()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0); // idle + iowait
        var total = fields.Take(8).Sum(); // user nice system idle iowait irq softirq steal
        return new MachineCpu(total - idle, total);
    }
}

public readonly record struct MachineCpu(long Busy, long Total)
{
    /// <summary>Share of the machine's CPUs that was busy between two readings, 0 to 1.</summary>
    public double BusySince(MachineCpu earlier) =>
        Total == earlier.Total ? 0 : (double)(Busy - earlier.Busy) / (Total - earlier.Total);
}
