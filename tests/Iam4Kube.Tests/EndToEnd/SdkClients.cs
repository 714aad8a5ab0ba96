using Iam4Kube.Testing.Networking;

namespace Iam4Kube.Tests.EndToEnd;

/// <summary>Real AWS SDK clients, run inside a pod's network namespace exactly as an application would run them.</summary>
internal static class SdkClients
{
    public const string Python = "/usr/bin/python3";
    public const string AwsCli = "/usr/bin/aws";

    /// <summary>botocore's default credential chain (it ends with the instance metadata provider).</summary>
    public const string BotocoreScript = """
        import hashlib, sys, botocore.session
        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            print("no credentials", file=sys.stderr)
            sys.exit(3)
        frozen = credentials.get_frozen_credentials()
        print("access_key_id=" + frozen.access_key)
        print("secret_sha256_16=" + hashlib.sha256(frozen.secret_key.encode()).hexdigest()[:16])
        print("has_token=" + str(bool(frozen.token)))
        print("method=" + credentials.method)
        """;

    public static void EnsureInstalled()
    {
        if (!File.Exists(Python) || !File.Exists(AwsCli))
        {
            throw new InvalidOperationException($"{Python} with python3-boto3 and {AwsCli} (awscli) are needed; run ./test.sh, which installs them");
        }
    }

    /// <summary>An environment with nothing but the metadata endpoint: no keys, no profiles, no config files.</summary>
    public static Dictionary<string, string> Environment(string? metadataEndpoint, string home) => new()
    {
        ["HOME"] = home,
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["AWS_CONFIG_FILE"] = Path.Combine(home, "aws-config"),
        ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(home, "aws-credentials"),
        ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = metadataEndpoint ?? "",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };

    public static Dictionary<string, string> ParseKeyValues(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1]);

    /// <summary>The .NET SDK client program, built next to the tests.</summary>
    public static string DotnetClientAssembly()
    {
        var root = RepositoryRoot();
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(root, "tests", "SdkClients", "DotnetImdsClient", "bin", configuration, "net10.0", "DotnetImdsClient.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("the .NET SDK client was not built", path);
    }

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Iam4Kube.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Iam4Kube.sln not found above " + AppContext.BaseDirectory);
    }

    public static Task<ProcessResult> RunBotocoreAsync(PodNetwork pod, string endpoint, string home) =>
        pod.RunAsync(Python, ["-c", BotocoreScript], Environment(endpoint, home), TimeSpan.FromSeconds(30));
}
