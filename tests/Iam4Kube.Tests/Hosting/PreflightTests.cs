using Iam4Kube.Hosting;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;

namespace Iam4Kube.Tests.Hosting;

/// <summary>
/// The built binary's start-up checks: what DI factories used to discover as stack traces (no kubeconfig, no
/// region, no AWS credentials, a bad token key) is one line on stderr that names the flag or variable that fixes
/// it, exit code 2, before anything starts. The environment is emptied of everything AWS and Kubernetes.
/// </summary>
public sealed class PreflightTests : IDisposable
{
    private readonly DirectoryInfo _home = Directory.CreateTempSubdirectory("iam4kube-preflight-");

    public void Dispose() => _home.Delete(recursive: true);

    private static string LocalCluster => Checkout.Combine("deploy", "examples", "local-cluster.yaml");

    private Task<ProcessResult> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        ProcessRunner.RunAsync(ProcessRunner.DotnetHost, [Iam4KubeProgram.Dll, .. args], Clean(environment), workingDirectory: _home.FullName);

    /// <summary>No AWS or Kubernetes configuration from this machine: HOME is an empty folder, then <paramref name="environment"/>.</summary>
    private Dictionary<string, string?> Clean(IReadOnlyDictionary<string, string?> environment)
    {
        var clean = new Dictionary<string, string?>
        {
            ["HOME"] = _home.FullName,
            ["AWS_CONFIG_FILE"] = Path.Combine(_home.FullName, "no-aws-config"),
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_home.FullName, "no-aws-credentials"),
            ["KUBECONFIG"] = null,
            [InClusterProbe.ServiceHostVariable] = null,
        };
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("AWS_", StringComparison.Ordinal)))
        {
            clean.TryAdd(name, null);
        }

        foreach (var (name, value) in environment)
        {
            clean[name] = value;
        }

        return clean;
    }

    private static void AssertOneLineAndExitCode2(ProcessResult run, string line)
    {
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.StandardOutput);
        Assert.Equal($"iam4kube: {line}", run.StandardError.TrimEnd('\n'));
    }

    [Fact]
    public async Task WithNeitherAClusterNorAKubeconfigNorAClusterFileItNamesTheFlagsThatFix()
    {
        var run = await RunAsync(new Dictionary<string, string?>(), "--credentials", "offline");

        AssertOneLineAndExitCode2(run, "no Kubernetes configuration: not in a cluster, KUBECONFIG is not set and "
            + $"{_home.FullName}/.kube/config does not exist; give --kubeconfig PATH or set KUBECONFIG, or --cluster-file PATH for local mode");
    }

    [Fact]
    public async Task AKubeconfigThatCannotBeReadIsNamedWithItsFlag()
    {
        var broken = Path.Combine(_home.FullName, "broken-kubeconfig");
        await File.WriteAllTextAsync(broken, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n");

        var run = await RunAsync(new Dictionary<string, string?>(), "--kubeconfig", broken, "--credentials", "offline");

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"iam4kube: --kubeconfig {broken} cannot be used: ", run.StandardError, StringComparison.Ordinal);
        Assert.Single(run.StandardError.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task StsWithoutARegionNamesRegionAndAwsRegion()
    {
        var run = await RunAsync(new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE", ["AWS_SECRET_ACCESS_KEY"] = "x" }, "--cluster-file", LocalCluster);

        AssertOneLineAndExitCode2(run, "--credentials sts needs an AWS region: give --region REGION or set AWS_REGION (or use --credentials offline for local mode)");
    }

    [Fact]
    public async Task StsWithoutAmbientCredentialsNamesTheVariablesThatFix()
    {
        var run = await RunAsync(new Dictionary<string, string?> { ["AWS_REGION"] = "eu-west-1" }, "--cluster-file", LocalCluster);

        AssertOneLineAndExitCode2(run, "--credentials sts found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            + "or AWS_PROFILE (a profile in ~/.aws), or use --credentials offline for local mode");
    }

    [Fact]
    public async Task AnAccessKeyWithoutItsSecretIsRefused()
    {
        var run = await RunAsync(new Dictionary<string, string?> { ["AWS_REGION"] = "eu-west-1", ["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE" }, "--cluster-file", LocalCluster);

        AssertOneLineAndExitCode2(run, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither");
    }

    [Fact]
    public async Task AnAwsProfileThatDoesNotExistIsNamed()
    {
        var run = await RunAsync(new Dictionary<string, string?> { ["AWS_REGION"] = "eu-west-1", ["AWS_PROFILE"] = "nosuch" }, "--cluster-file", LocalCluster);

        AssertOneLineAndExitCode2(run, "AWS_PROFILE=nosuch: no such profile in the AWS config or credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, ~/.aws)");
    }

    [Fact]
    public async Task AProfileInTheSharedFilesCountsAsAmbientCredentialsAndGivesTheRegion()
    {
        await File.WriteAllTextAsync(Path.Combine(_home.FullName, "aws-config"), "[profile dev]\nregion = eu-west-3\n");
        await File.WriteAllTextAsync(Path.Combine(_home.FullName, "aws-credentials"), "[dev]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n");
        var environment = Clean(new Dictionary<string, string?>
        {
            ["AWS_PROFILE"] = "dev",
            ["AWS_CONFIG_FILE"] = Path.Combine(_home.FullName, "aws-config"),
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_home.FullName, "aws-credentials"),
        });

        // It starts: the cluster file is applied (no AWS call is needed for that).
        await using var iam4kube = ProcessRunner.Start(
            ProcessRunner.DotnetHost,
            [Iam4KubeProgram.Dll, "--cluster-file", LocalCluster, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-format", "text"],
            environment,
            _home.FullName);
        var log = await Eventually.ObserveAsync(
            () => Task.FromResult(iam4kube.Output),
            text => text.Contains($"Applied {LocalCluster}", StringComparison.Ordinal) || iam4kube.HasExited,
            TimeSpan.FromSeconds(30));

        Assert.False(iam4kube.HasExited, log);
        Assert.Contains($"Applied {LocalCluster}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATokenKeyFileTooShortIsNamedWithItsFlag()
    {
        var key = Path.Combine(_home.FullName, "short-key");
        await File.WriteAllTextAsync(key, "tooshort");

        var run = await RunAsync(new Dictionary<string, string?>(), "--cluster-file", LocalCluster, "--credentials", "offline", "--token-key-file", key);

        AssertOneLineAndExitCode2(run, $"--token-key-file {key}: token key file {key} holds 8 bytes; at least 16 are needed");
    }

    [Fact]
    public async Task EveryProblemIsReportedAtOnceOneLineEach()
    {
        var run = await RunAsync(new Dictionary<string, string?>());

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(3, run.StandardError.TrimEnd('\n').Split('\n').Length);
        Assert.DoesNotContain("   at ", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VersionPrintsTheVersionAndTheCommitItWasBuiltFrom()
    {
        var run = await RunAsync(new Dictionary<string, string?>(), "--version");

        Assert.Equal(0, run.ExitCode);
        Assert.Matches("^iam4kube [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit ([0-9a-f]{40}|unknown)\\)\n$", run.StandardOutput);
    }

    [Fact]
    public async Task AnUnknownFlagIsCalledUnknown()
    {
        var run = await RunAsync(new Dictionary<string, string?>(), "--bogus");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("iam4kube: unknown flag --bogus\nRun 'iam4kube --help' for usage.", run.StandardError.TrimEnd('\n'));
    }
}
