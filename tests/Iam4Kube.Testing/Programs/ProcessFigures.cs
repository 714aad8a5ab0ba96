using System.Globalization;

namespace Iam4Kube.Testing.Programs;

/// <summary>
/// A running process's own figures from Linux's /proc, as the tests and benchmarks that watch a child process read
/// them: its memory counters (/proc/PID/status) and its CPU time (/proc/PID/stat). Load on the machine inflates
/// neither.
/// </summary>
public static class ProcessFigures
{
    /// <summary>Every memory counter of /proc/PID/status ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", ...), in KiB.</summary>
    public static IReadOnlyDictionary<string, long> StatusKiB(int pid)
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            // "VmRSS:\t  123456 kB"
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var value = line[(colon + 1)..].Trim();
            if (colon > 0 && value.EndsWith(" kB", StringComparison.Ordinal))
            {
                counters[line[..colon]] = long.Parse(value[..^3], CultureInfo.InvariantCulture);
            }
        }

        return counters;
    }

    /// <summary>The process's CPU time so far, user plus system (/proc/PID/stat).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        // USER_HZ is 100 on Linux (sysconf(_SC_CLK_TCK)): a tick is 10 ms.
        return TimeSpan.FromMilliseconds(ticks * 10);
    }
}
