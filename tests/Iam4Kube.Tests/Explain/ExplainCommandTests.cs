using System.Net;
using System.Net.Sockets;
using Iam4Kube.Tests.Hosting;

namespace Iam4Kube.Tests.Explain;

/// <summary><c>iam4kube explain</c>'s command line (the built binary): usage errors exit 2, an unreachable admin port 1, with one clear line.</summary>
public sealed class ExplainCommandTests
{
    [Theory]
    [InlineData("give exactly one of --ip IP or --pod NAMESPACE/NAME", "--admin", "http://127.0.0.1:9090")]
    [InlineData("give exactly one of --ip IP or --pod NAMESPACE/NAME", "--admin", "http://127.0.0.1:9090", "--ip", "10.0.0.1", "--pod", "a/b")]
    [InlineData("--admin URL is required", "--ip", "10.0.0.1")]
    [InlineData("--admin 'localhost:9090': expected an http:// or https:// URL", "--admin", "localhost:9090", "--ip", "10.0.0.1")]
    [InlineData("unknown flag --node", "--node", "n1")]
    [InlineData("--pod needs a value", "--admin", "http://127.0.0.1:9090", "--pod")]
    public async Task AWrongCommandLineExitsWith2AndSaysWhat(string message, params string[] args)
    {
        var (exitCode, _, error) = await ProgramTests.RunAsync(["explain", .. args]);
        Assert.Equal(2, exitCode);
        Assert.Contains($"iam4kube explain: {message}", error, StringComparison.Ordinal);
        Assert.Contains("iam4kube explain --help", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableAdminPortIsOneClearLineAndExit1()
    {
        // A port that was free a moment ago: nothing listens there.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var (exitCode, output, error) = await ProgramTests.RunAsync("explain", "--admin", $"http://127.0.0.1:{port}", "--ip", "10.0.0.1");

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"iam4kube explain: cannot reach iam4kube's admin port at http://127.0.0.1:{port}: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpNamesTheFlags()
    {
        var (exitCode, output, _) = await ProgramTests.RunAsync("explain", "--help");
        Assert.Equal(0, exitCode);
        Assert.Contains("--admin URL", output, StringComparison.Ordinal);
        Assert.Contains("--pod NS/NAME", output, StringComparison.Ordinal);
    }
}
