using Iam4Kube.Testing.Networking;
using Ip2Service.Tests.TestSupport;

namespace Ip2Service.Tests.Hosting;

/// <summary>The built program, as a user runs it.</summary>
public sealed class ProgramTests
{
    [Fact]
    public async Task ExitsWithCode2AndSaysWhyOnAnInvalidFlag()
    {
        var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, "run", "--service-namespace", "a", "--service-name", "b", "--bogus", "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.StandardOutput);
        Assert.Equal("ip2service: unknown option --bogus for `ip2service run`\nRun `ip2service --help` for usage.\n", result.StandardError);
    }

    [Fact]
    public async Task PrintsUsageForHelp()
    {
        var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("ip2service run    --service-namespace NS --service-name NAME [--service-port http]", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenderPrintsOnlyTheRestoreInputOnStdout()
    {
        var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, "render", "--endpoints", "10.0.1.1:8080,10.0.1.2:8080");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.StandardError);
        Assert.StartsWith("# ip2service: 169.254.169.254:80 -> 2 ready endpoints, 2 excluded sources\n*filter\n", result.StandardOutput, StringComparison.Ordinal);
        Assert.EndsWith("COMMIT\n", result.StandardOutput, StringComparison.Ordinal);
    }
}
