using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;

namespace Iam4Kube.Tests.Hosting;

/// <summary>The real binary's command-line contract: help, and exit code 2 with a clear message for bad flags.</summary>
public sealed class ProgramTests
{
    /// <summary>Runs the built iam4kube binary with <paramref name="args"/> and waits (at most a minute) for it to exit.</summary>
    internal static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var run = await ProcessRunner.RunAsync(ProcessRunner.DotnetHost, [Iam4KubeProgram.Dll, .. args]);
        return (run.ExitCode, run.StandardOutput, run.StandardError);
    }

    [Fact]
    public async Task PrintsHelpAndExitsZero()
    {
        var (exitCode, output, _) = await RunAsync("--help");
        Assert.Equal(0, exitCode);
        Assert.Contains("--session-duration", output, StringComparison.Ordinal);
        Assert.Contains("--wait-timeout", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--sts-rate", "fast", "--sts-rate 'fast': expected a number")]
    [InlineData("--session-duration", "2d", "--session-duration '2d'")]
    [InlineData("--listen", "nowhere", "--listen 'nowhere'")]
    [InlineData("--base-role-arn", "arn:aws:iam::123:role/", "--base-role-arn 'arn:aws:iam::123:role/': expected arn:PARTITION:iam::ACCOUNT_ID:role/")]
    public async Task RefusesInvalidFlagsWithExitCode2AndAClearMessage(string flag, string value, string message)
    {
        var (exitCode, _, error) = await RunAsync(flag, value);
        Assert.Equal(2, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Contains("iam4kube --help", error, StringComparison.Ordinal);
    }
}
