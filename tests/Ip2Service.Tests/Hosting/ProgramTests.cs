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
        Assert.Equal("ip2service: unknown flag --bogus\nRun `ip2service --help` for usage.\n", result.StandardError);
    }

    [Fact]
    public async Task VersionPrintsTheVersionAndTheCommitItWasBuiltFrom()
    {
        var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, "--version");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches("^ip2service [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit ([0-9a-f]{40}|unknown)\\)\n$", result.StandardOutput);
    }

    [Fact]
    public async Task RunWithNoKubernetesConfigurationSaysWhichFlagOrVariableFixesItInOneLine()
    {
        var home = Directory.CreateTempSubdirectory("ip2service-preflight-");
        try
        {
            var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, new Dictionary<string, string?> { ["HOME"] = home.FullName, ["KUBECONFIG"] = "" },
                "run", "--service-namespace", "iam4kube", "--service-name", "iam4kube");

            Assert.Equal(2, result.ExitCode);
            Assert.Equal("", result.StandardOutput);
            Assert.Equal($"ip2service: no Kubernetes configuration: not in a cluster, KUBECONFIG is not set and {home.FullName}/.kube/config "
                + "does not exist; give --kubeconfig PATH or set KUBECONFIG\n", result.StandardError);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task RunWithAKubeconfigVariableNamingNoFileSaysSoInOneLine()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-kubeconfig-{Guid.NewGuid():N}");

        var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, new Dictionary<string, string?> { ["KUBECONFIG"] = missing },
            "run", "--service-namespace", "iam4kube", "--service-name", "iam4kube");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"ip2service: KUBECONFIG {missing}: no such file\n", result.StandardError);
    }

    [Fact]
    public async Task RunWithAKubeconfigThatCannotBeUsedNamesTheFlagInOneLine()
    {
        var broken = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(broken, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n");

            var result = await Ip2ServiceBinary.RunAsync(NetworkNamespace.Root, "run", "--service-namespace", "iam4kube", "--service-name", "iam4kube", "--kubeconfig", broken);

            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith($"ip2service: --kubeconfig {broken} cannot be used: ", result.StandardError, StringComparison.Ordinal);
            Assert.Single(result.StandardError.TrimEnd('\n').Split('\n'));
        }
        finally
        {
            File.Delete(broken);
        }
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
