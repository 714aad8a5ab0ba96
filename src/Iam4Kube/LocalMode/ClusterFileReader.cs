using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Iam4Kube.LocalMode;

/// <summary>
/// Reads the cluster file, refusing what would hang or exhaust the process: anything but a regular file (a FIFO
/// would block open() until a writer came, and with it every later reload), files larger than
/// <see cref="MaxBytes"/>, and an empty file, which is what an editor leaves for an instant while saving rather
/// than a cluster without pods. Symbolic links are followed, so a ConfigMap's <c>..data</c> links work.
/// </summary>
internal static partial class ClusterFileReader
{
    /// <summary>A cluster file of 10,000 pods is about 3 MiB; the limit keeps a 100 MB mistake from costing GBs.</summary>
    public const int MaxBytes = 4 << 20;

    public static ClusterFileRead Read(string path)
    {
        try
        {
            using var stream = OpenWithoutBlocking(path);
            if (!stream.CanSeek)
            {
                return ClusterFileRead.Refused("not_regular", "it is not a regular file (a FIFO, a socket or a device); local mode reads only regular files");
            }

            if (stream.Length > MaxBytes)
            {
                return ClusterFileRead.Refused("too_large", $"it is {stream.Length:N0} bytes, more than the {MaxBytes >> 20} MiB a cluster file may have");
            }

            // Read at most one byte more than allowed: the length may have grown since it was asked (or lie, /dev/zero).
            var buffer = new byte[Math.Min(MaxBytes + 1, (int)stream.Length + 4096)];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
                if (length == buffer.Length && buffer.Length <= MaxBytes)
                {
                    Array.Resize(ref buffer, Math.Min(MaxBytes + 1, buffer.Length * 2));
                }
            }

            if (length > MaxBytes)
            {
                return ClusterFileRead.Refused("too_large", $"it is more than the {MaxBytes >> 20} MiB a cluster file may have");
            }

            var text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(buffer, 0, length).TrimStart('\uFEFF');
            return string.IsNullOrWhiteSpace(text)
                ? ClusterFileRead.Refused("empty", "it is empty (an editor in the middle of saving?); to run with no pods, leave a comment in it")
                : new ClusterFileRead(text, null, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ClusterFileRead.Refused("unreadable", e.Message.TrimEnd('.'));
        }
    }

    /// <summary>
    /// Opens read-only with O_NONBLOCK on Linux and macOS, so that opening a FIFO returns at once instead of waiting
    /// for a writer (O_NONBLOCK changes nothing for a regular file). Elsewhere, an ordinary open.
    /// </summary>
    private static FileStream OpenWithoutBlocking(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }

        var (nonBlocking, closeOnExec) = OperatingSystem.IsMacOS() ? (0x4, 0x1000000) : (0x800, 0x80000);
        var fd = Open(Encoding.UTF8.GetBytes(path + "\0"), nonBlocking | closeOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                2 => new FileNotFoundException($"no such file: {path}"),
                13 => new UnauthorizedAccessException($"permission denied: {path}"),
                _ => new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
            };
        }

        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open([In] byte[] path, int flags);
}

/// <summary>The text of the cluster file, or why it was refused (<see cref="Outcome"/> is the metric label).</summary>
internal sealed record ClusterFileRead(string? Text, string? Outcome, string? Reason)
{
    public static ClusterFileRead Refused(string outcome, string reason) => new(null, outcome, reason);
}
