using Iam4Kube.Testing;
using Iam4Kube.Hosting;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>Offline credentials are fake: inside a cluster they would break every pod's AWS calls, so they are refused.</summary>
public sealed class InClusterRefusalTests
{
    private const string Refused = "--credentials offline is refused inside a Kubernetes cluster";

    private static InClusterProbe Probe(bool tokenMounted = false, string? serviceHost = null) => new(
        name => name == InClusterProbe.ServiceHostVariable ? serviceHost : null,
        path => tokenMounted && path == InClusterProbe.ServiceAccountTokenPath);

    private static ParseResult Parse(InClusterProbe probe, params string[] args) => CommandLine.Parse(args, _ => null, probe);

    [Fact]
    public void RefusesOfflineCredentialsWhereAServiceAccountTokenIsMounted()
    {
        var result = Parse(Probe(tokenMounted: true), "--credentials", "offline");

        Assert.Null(result.Options);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith(Refused, error, StringComparison.Ordinal);
        Assert.Contains(InClusterProbe.ServiceAccountTokenPath, error, StringComparison.Ordinal);
        Assert.Contains("--allow-offline-in-cluster", error, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesOfflineCredentialsWhenKubernetesServiceHostIsSet()
    {
        var error = Assert.Single(Parse(Probe(serviceHost: "10.96.0.1"), "--credentials=offline").Errors);

        Assert.StartsWith($"{Refused} (KUBERNETES_SERVICE_HOST is set)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ChecksTheEnvironmentGivenToTheParserWhenNoProbeIsGiven()
    {
        var result = CommandLine.Parse(["--credentials", "offline"], name => name == "KUBERNETES_SERVICE_HOST" ? "10.96.0.1" : null);

        Assert.StartsWith(Refused, Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--allow-offline-in-cluster")]
    [InlineData("--allow-offline-in-cluster=true")]
    public void AllowsOfflineCredentialsInAClusterWhenForced(string force)
    {
        var options = Parse(Probe(tokenMounted: true, serviceHost: "10.96.0.1"), "--credentials", "offline", force).Options;

        Assert.NotNull(options);
        Assert.Equal(CredentialSource.Offline, options.Credentials);
        Assert.True(options.AllowOfflineInCluster);
    }

    [Fact]
    public void AllowsOfflineCredentialsOutsideAClusterAndUsesStsByDefault()
    {
        Assert.Equal(CredentialSource.Offline, Parse(Probe(), "--credentials", "offline").Options!.Credentials);
        Assert.Equal(CredentialSource.Sts, Parse(Probe(tokenMounted: true)).Options!.Credentials);
        Assert.Equal(CredentialSource.Sts, Parse(Probe(tokenMounted: true), "--credentials", "sts").Options!.Credentials);
    }

    [Theory]
    [InlineData(new[] { "--allow-offline-in-cluster" }, "--allow-offline-in-cluster applies only with --credentials offline")]
    [InlineData(new[] { "--credentials", "offline", "--allow-offline-in-cluster=maybe" }, "--allow-offline-in-cluster takes no value, or =true or =false")]
    [InlineData(new[] { "--credentials", "aws" }, "--credentials 'aws': expected sts or offline")]
    public void RejectsMisusedCredentialFlags(string[] args, string expected)
    {
        Assert.Contains(expected, Parse(Probe(), args).Errors);
    }

    [Fact]
    public void TheHelpDocumentsBothFlags()
    {
        Assert.Contains("--credentials sts|offline", CommandLine.Usage, StringComparison.Ordinal);
        Assert.Contains("--allow-offline-in-cluster", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheReadmeCommandExitsWithCode2AndSaysWhyWhenRunInsideACluster()
    {
        var (_, exitCode, output, error) = await ProcessRunner.RunAsync(
            ProcessRunner.DotnetHost,
            [Iam4KubeProgram.Dll, .. ReadmeLocalMode.RunArgumentsWithPorts(FreePorts.Pick(System.Net.IPAddress.Loopback), FreePorts.Pick(System.Net.IPAddress.Loopback))],
            new Dictionary<string, string?> { [InClusterProbe.ServiceHostVariable] = "10.96.0.1" },
            workingDirectory: Checkout.Root);

        Assert.True(exitCode == 2, $"exit code {exitCode}\nstdout:\n{output}\nstderr:\n{error}");
        Assert.Contains($"iam4kube: {Refused}", error, StringComparison.Ordinal);
        Assert.Contains("Run 'iam4kube --help' for usage.", error, StringComparison.Ordinal);
    }
}
