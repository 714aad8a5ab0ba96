using System.Globalization;

namespace Iam4Kube.Hosting;

/// <summary>
/// How many connections the process's open-file limit leaves room for. When descriptors run out, accept() fails
/// with EMFILE and so does everything else that opens one: the runtime cannot start a thread (each needs a pipe)
/// and aborts the process with "Out of memory." (SIGABRT). So the connection limit is kept below the descriptor
/// limit, read at start (after .NET has raised the soft limit to the hard one), with room for what the process
/// already holds and what it opens later: sockets to the API server and STS, threads, the cluster file, logs.
/// </summary>
internal static class DescriptorBudget
{
    /// <summary>Descriptors kept for everything that is not an accepted connection, beyond those open at start.</summary>
    public const int Reserve = 256;

    /// <summary>Connections the descriptor limit allows on the pod-facing doors, or null when it is unknown.</summary>
    public static int? ConnectionsAllowed(long? softLimit, int openNow) => softLimit is { } limit
        ? (int)Math.Clamp(limit - openNow - Reserve - ConnectionLimiter.AdminConnections, 0, int.MaxValue)
        : null;

    /// <summary>The soft RLIMIT_NOFILE of this process (Linux: /proc/self/limits), or null when unknown or unlimited.</summary>
    public static long? SoftLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Descriptors open now (Linux: /proc/self/fd), or 0 when unknown.</summary>
    public static int OpenNow()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
