using System.ComponentModel;
using System.Diagnostics;

namespace Ip2Service.Iptables;

/// <summary>Runs one iptables program to completion, optionally feeding it stdin, behind an optional command prefix
/// (tests pass `ip netns exec NAME` to act on a network namespace).</summary>
internal sealed class ExternalCommand(IReadOnlyList<string> prefix)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static ExternalCommand Direct { get; } = new([]);

    public IReadOnlyList<string> Prefix { get; } = prefix;

    /// <summary>Runs the program and returns its stdout; throws <see cref="IptablesCommandException"/> when it
    /// cannot be started, fails, or takes longer than 30 s.</summary>
    public async Task<string> RunAsync(string program, IReadOnlyList<string> args, string? standardInput, CancellationToken cancellationToken)
    {
        var argv = Prefix.Concat([program]).Concat(args).ToList();
        var display = string.Join(' ', argv);
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo(argv[0])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        foreach (var arg in argv.Skip(1))
        {
            process.StartInfo.ArgumentList.Add(arg);
        }
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new IptablesCommandException($"cannot run `{display}`: {e.Message}", e) { NotInstalled = true };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), timeout.Token);
            }
            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token);
            var output = await stdout;
            var error = await stderr;
            if (process.ExitCode != 0)
            {
                throw new IptablesCommandException($"`{display}` exited with {process.ExitCode}: {error.Trim()}");
            }
            return output;
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
            cancellationToken.ThrowIfCancellationRequested();
            throw new IptablesCommandException($"`{display}` did not finish within {Timeout.TotalSeconds} s");
        }
        catch (IOException e)
        {
            throw new IptablesCommandException($"`{display}` failed: {e.Message}", e);
        }
    }
}
