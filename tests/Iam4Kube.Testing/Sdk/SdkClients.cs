using Iam4Kube.Testing.Networking;
using Xunit;

namespace Iam4Kube.Testing.Sdk;

/// <summary>Real AWS SDK clients, run inside a pod's network namespace exactly as an application would run them.</summary>
public static class SdkClients
{
    public const string AwsCli = "/usr/bin/aws";
    public const string Node = "/usr/bin/node";

    public static void EnsureInstalled()
    {
        Botocore.EnsureInstalled();
        if (!File.Exists(AwsCli))
        {
            throw new InvalidOperationException($"{AwsCli} (awscli) is needed; run ./test.sh, which installs it");
        }
    }

    /// <summary>An environment with nothing but the metadata endpoint: no keys, no profiles, no config files.</summary>
    public static Dictionary<string, string?> Environment(string? metadataEndpoint, string home) => new()
    {
        ["HOME"] = home,
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["AWS_CONFIG_FILE"] = Path.Combine(home, "aws-config"),
        ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(home, "aws-credentials"),
        ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = metadataEndpoint ?? "",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };

    /// <summary>
    /// The environment of a container that EKS Pod Identity's webhook (or iam4kube's) injected: the token door's
    /// URI and the projected token file, and no metadata service.
    /// </summary>
    public static Dictionary<string, string?> PodIdentityEnvironment(string home, string tokenFile)
    {
        var env = Environment(null, home);
        env["AWS_EC2_METADATA_DISABLED"] = "true";
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://169.254.170.23/v1/credentials";
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile;
        return env;
    }

    public static Task<ProcessResult> RunJavaScriptSdkAsync(PodNetwork pod, string endpoint, string home) =>
        pod.RunAsync(Node, [Checkout.JsImdsClientScript()], Environment(endpoint, home), TimeSpan.FromSeconds(60));

    /// <summary>The client printed credentials that STS issued for <paramref name="roleName"/> as <paramref name="sessionName"/>.</summary>
    public static void AssertIssuedFor(Sts.FakeSts sts, ProcessResult result, string roleName, string sessionName)
    {
        Assert.True(result.Succeeded, result.ToString());
        var values = Botocore.ParseOutput(result.StandardOutput);
        var call = sts.Calls.Single(c => c.AccessKeyIdIssued == values["access_key_id"]);
        Assert.Equal(Builders.KubeObjects.RoleArn(roleName), call.RoleArn);
        Assert.Equal(sessionName, call.RoleSessionName);
        Assert.Equal("True", values["has_token"], ignoreCase: true);
        Assert.Equal(16, values["secret_sha256_16"].Length);
    }

    public static Task<ProcessResult> RunBotocoreAsync(PodNetwork pod, string endpoint, string home) =>
        pod.RunAsync(Botocore.Python, ["-c", Botocore.CredentialsScript], Environment(endpoint, home), TimeSpan.FromSeconds(30));
}
