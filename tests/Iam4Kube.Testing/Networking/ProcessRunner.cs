using System.Diagnostics;
using System.Text;

namespace Iam4Kube.Testing.Networking;

/// <summary>Runs external commands (ip, iptables, python3, aws, ...) for tests, with a timeout that kills them.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The <c>dotnet</c> running these tests (the SDK sets DOTNET_HOST_PATH), else the one on PATH.</summary>
    public static string DotnetHost { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs <paramref name="file"/> to completion and returns its exit code and output; never throws on a
    /// non-zero exit code (see <see cref="RunCheckedAsync"/>), but throws <see cref="TimeoutException"/> after
    /// killing the process when it outlives <paramref name="timeout"/>. In <paramref name="env"/>, a null value removes
    /// the variable.</summary>
    public static async Task<ProcessResult> RunAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? env = null,
        TimeSpan? timeout = null,
        string? standardInput = null,
        string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        using var process = new Process { StartInfo = CreateStartInfo(file, args, env, workingDirectory) };
        process.StartInfo.RedirectStandardInput = true;
        var commandLine = FormatCommandLine(process.StartInfo);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        StartOrExplain(process, commandLine);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }
        process.StandardInput.Close();

        var limit = timeout ?? DefaultTimeout;
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"`{commandLine}` did not finish within {limit}; killed it.\n--- stdout ---\n{Read(stdout)}\n--- stderr ---\n{Read(stderr)}");
        }

        // WaitForExitAsync also waits for the redirected streams to reach end of file.
        return new ProcessResult(commandLine, process.ExitCode, Read(stdout), Read(stderr));
    }

    /// <summary>Like <see cref="RunAsync"/>, but throws <see cref="ProcessFailedException"/> (with the command's
    /// output) when it exits with a non-zero code.</summary>
    public static async Task<ProcessResult> RunCheckedAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? env = null,
        TimeSpan? timeout = null,
        string? standardInput = null,
        CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(file, args, env, timeout, standardInput, cancellationToken: cancellationToken);
        return result.EnsureSuccess();
    }

    /// <summary>Starts a long-running process (a server, a daemon); dispose the result to stop it. In
    /// <paramref name="env"/>, a null value removes the variable.</summary>
    public static BackgroundProcess Start(
        string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env = null, string? workingDirectory = null)
    {
        var process = new Process { StartInfo = CreateStartInfo(file, args, env, workingDirectory), EnableRaisingEvents = true };
        return new BackgroundProcess(process, FormatCommandLine(process.StartInfo));
    }

    internal static void StartOrExplain(Process process, string commandLine)
    {
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Could not start `{commandLine}`: {e.Message}", e);
        }
    }

    internal static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static ProcessStartInfo CreateStartInfo(
        string file, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env, string? workingDirectory)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory ?? string.Empty,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        if (env is not null)
        {
            foreach (var (key, value) in env)
            {
                if (value is null)
                {
                    startInfo.Environment.Remove(key);
                }
                else
                {
                    startInfo.Environment[key] = value;
                }
            }
        }
        return startInfo;
    }

    private static string FormatCommandLine(ProcessStartInfo startInfo) =>
        string.Join(' ', new[] { startInfo.FileName }.Concat(startInfo.ArgumentList).Select(Quote));

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@+%".Contains(c, StringComparison.Ordinal))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (builder)
        {
            builder.Append(line).Append('\n');
        }
    }

    private static string Read(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}
