using Iam4Kube.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Iam4Kube.Hosting;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;

namespace Iam4Kube.Tests.LocalMode;

/// <summary>
/// README.md's first command, run as a newcomer runs it (the built iam4kube, the README's flags, free ports), and
/// real AWS clients getting credentials from it: botocore (python3-boto3) and awscli v2, with nothing configured
/// but the metadata endpoint. The caller's IP, 127.0.0.1, is the example pod's.
/// </summary>
public sealed class ReadmeLocalModeTests(ReadmeLocalModeTests.LocalModeProcess iam4kube) : IClassFixture<ReadmeLocalModeTests.LocalModeProcess>
{
    private const string Python = "/usr/bin/python3";
    private const string ExampleRole = "report-writer";

    private const string BotocoreScript = """
        import sys, botocore.session
        credentials = botocore.session.get_session().get_credentials()
        if credentials is None:
            sys.exit("botocore found no credentials")
        frozen = credentials.get_frozen_credentials()
        print(credentials.method)
        print(frozen.access_key)
        print(bool(frozen.secret_key) and bool(frozen.token))
        """;

    [Fact]
    public void TheReadmeRunsLocalModeWithTheExampleClusterAndOfflineCredentials()
    {
        var args = string.Join(' ', ReadmeLocalMode.RunArguments);

        Assert.Contains("--cluster-file deploy/examples/local-cluster.yaml", args, StringComparison.Ordinal);
        Assert.Contains("--credentials offline", args, StringComparison.Ordinal);
        Assert.Contains($"--listen {ReadmeLocalMode.DocumentedMetadataAddress}", args, StringComparison.Ordinal);
        Assert.Contains($"--admin-listen {ReadmeLocalMode.DocumentedAdminAddress}", args, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BotocoreGetsTheExamplePodsCredentialsThroughItsDefaultChain()
    {
        var (_, exitCode, output, error) = await ProcessRunner.RunAsync(Python, ["-c", BotocoreScript], iam4kube.SdkEnvironment(), workingDirectory: iam4kube.Home);

        Assert.True(exitCode == 0, $"botocore failed ({exitCode}): {error}\niam4kube:\n{iam4kube.Log}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("iam-role", lines[0]);
        Assert.StartsWith("ASIAOFFLINE", lines[1], StringComparison.Ordinal);
        Assert.Equal("True", lines[2]);

        // The very credentials iam4kube holds for the example pod's role.
        using var client = new HttpClient { BaseAddress = new Uri(iam4kube.MetadataEndpoint) };
        var document = await client.GetFromJsonAsync<JsonElement>($"latest/meta-data/iam/security-credentials/{ExampleRole}");
        Assert.Equal(document.GetProperty("AccessKeyId").GetString(), lines[1]);
    }

    [Fact]
    public async Task EveryCommandTheReadmeSaysToRunNextWorks()
    {
        var commands = ReadmeLocalMode.FollowUpCommands;
        Assert.Contains(commands, c => c.Contains("curl ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains("aws configure export-credentials", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains("boto3", StringComparison.Ordinal));

        foreach (var command in commands)
        {
            Assert.Contains(ReadmeLocalMode.DocumentedMetadataAddress, command, StringComparison.Ordinal);
            var local = command.Replace(ReadmeLocalMode.DocumentedMetadataAddress, iam4kube.MetadataAddress, StringComparison.Ordinal);
            var (_, exitCode, output, error) = await ProcessRunner.RunAsync("/bin/bash", ["-c", local], iam4kube.SdkEnvironment(), workingDirectory: iam4kube.Home);

            Assert.True(exitCode == 0, $"'{local}' failed ({exitCode}):\n{output}\n{error}\niam4kube:\n{iam4kube.Log}");
            Assert.True(output.Trim() == ExampleRole || output.Contains("ASIAOFFLINE", StringComparison.Ordinal),
                $"'{local}' printed neither the role nor offline credentials:\n{output}\n{error}");
        }
    }

    /// <summary>The README's command, once for the class: the real iam4kube, started from the repository root.</summary>
    public sealed class LocalModeProcess : IAsyncLifetime
    {
        private BackgroundProcess? _process;

        public string MetadataAddress { get; } = $"127.0.0.1:{FreePorts.Pick(System.Net.IPAddress.Loopback)}";

        public string MetadataEndpoint => $"http://{MetadataAddress}/";

        /// <summary>An empty HOME for the SDKs: no ~/.aws to find credentials in first.</summary>
        public string Home { get; } = Directory.CreateTempSubdirectory("iam4kube-readme-").FullName;

        public string Log => _process?.Output ?? "";

        /// <summary>Nothing for an AWS SDK to find but the metadata endpoint, as README says.</summary>
        public Dictionary<string, string?> SdkEnvironment()
        {
            var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(name => name.StartsWith("AWS_", StringComparison.Ordinal))
                .ToDictionary(name => name, string? (_) => null);
            environment["HOME"] = Home;
            environment["AWS_CONFIG_FILE"] = Path.Combine(Home, "no-aws-config");
            environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(Home, "no-aws-credentials");
            environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = MetadataEndpoint;
            return environment;
        }

        public async Task InitializeAsync()
        {
            foreach (var tool in new[] { Python, "/usr/bin/aws", "/usr/bin/curl" })
            {
                if (!File.Exists(tool))
                {
                    throw new InvalidOperationException($"{tool} is missing: the README's commands use it (./test.sh installs python3-boto3 and awscli)");
                }
            }

            var adminPort = FreePorts.Pick(System.Net.IPAddress.Loopback);
            var args = ReadmeLocalMode.RunArgumentsWithPorts(int.Parse(MetadataAddress.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture), adminPort);
            if (InClusterProbe.ForThisProcess(Environment.GetEnvironmentVariable).Evidence() is not null)
            {
                // These tests themselves run in a pod (CI); the README's newcomer does not.
                args.Add("--allow-offline-in-cluster");
            }

            _process = ProcessRunner.Start(ProcessRunner.DotnetHost, [Iam4KubeProgram.Dll, .. args], workingDirectory: Checkout.Root);
            await ReadinessProbe.WaitUntilReadyAsync(_process, new Uri($"http://127.0.0.1:{adminPort}/readyz"), TimeSpan.FromSeconds(60));
        }

        public async Task DisposeAsync()
        {
            if (_process is not null)
            {
                await _process.DisposeAsync();
            }

            Directory.Delete(Home, recursive: true);
        }
    }
}
