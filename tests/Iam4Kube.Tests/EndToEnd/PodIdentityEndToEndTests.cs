using System.Net;
using Iam4Kube.Hosting;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Sdk;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.EndToEnd;

/// <summary>
/// Real SDKs speak EKS Pod Identity's protocol to the token door with nothing but the two variables the webhook
/// injects and a token file, each in its own network namespace. Until ip2service intercepts 169.254.170.23, each
/// namespace sends it to the token door itself (a DNAT in its own OUTPUT chain), as ip2service will on a node.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class PodIdentityEndToEndTests : IAsyncLifetime
{
    private static int _nextPod;
    private readonly string _home = Directory.CreateTempSubdirectory("iam4kube-pod-identity-").FullName;
    private Iam4KubeTestHost _host = null!;

    public async Task InitializeAsync()
    {
        SdkClients.EnsureInstalled();
        NetworkPrerequisites.EnsureNetworkNamespaces();
        _host = await Iam4KubeTestHost.StartAsync(o => o with { TokenListen = new IPEndPoint(IPAddress.Any, 0), WaitTimeout = TimeSpan.FromSeconds(5) });
        _host.Api.Create(KubeObjects.Node("node-1", "eu-west-3", "eu-west-3a"));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task AwsSdkForDotnetGetsThePodsRoleFromTheTokenDoor()
    {
        var (pod, env) = await CreatePodAsync("billing", "invoicer", hostNetwork: false);
        await using var _ = pod;

        var result = await pod.RunAsync("dotnet", ["exec", Checkout.DotnetImdsClientDll(), "container"], env, TimeSpan.FromSeconds(60));

        SdkClients.AssertIssuedFor(_host.Sts, result, "invoicer", "billing@invoicer");
        Assert.Equal(1, _host.Api.TokenReviewCount);
    }

    [Fact]
    public async Task JavaScriptSdkV3GetsThePodsRoleFromTheTokenDoor()
    {
        var (pod, env) = await CreatePodAsync("web", "frontend", hostNetwork: false);
        await using var _ = pod;

        var result = await pod.RunAsync(SdkClients.Node, [Checkout.JsImdsClientScript(), "container"], env, TimeSpan.FromSeconds(60));

        SdkClients.AssertIssuedFor(_host.Sts, result, "frontend", "web@frontend");

    }

    [Fact]
    public async Task AHostNetworkPodWithNoIpOfItsOwnGetsItsRoleFromItsToken()
    {
        var (node, env) = await CreatePodAsync("kube-system", "node-agent", hostNetwork: true);
        await using var _ = node;

        var result = await node.RunAsync("dotnet", ["exec", Checkout.DotnetImdsClientDll(), "container"], env, TimeSpan.FromSeconds(60));

        SdkClients.AssertIssuedFor(_host.Sts, result, "node-agent", "kube-system@node-agent");
    }

    /// <summary>
    /// Debian's python3-botocore (1.29.27, bookworm; awscli 2.9.19 uses it) predates EKS Pod Identity: it refuses
    /// the host 169.254.170.23 ("Unsupported host") and knows no token file, so it gets no credentials this way (its
    /// IMDS provider still works through the IMDS door).
    /// docs/metadata-api.md says so; a Debian update that adds the support makes this fail, and the doc must change.
    /// </summary>
    [Fact]
    public async Task DebiansBotocoreIsTooOldForTheTokenFile()
    {
        var (pod, env) = await CreatePodAsync("shop", "legacy", hostNetwork: false);
        await using var _ = pod;

        var result = await pod.RunAsync(Botocore.Python, ["-c", Botocore.CredentialsScript], env, TimeSpan.FromSeconds(30));

        Assert.False(result.Succeeded, result.ToString());
        Assert.DoesNotContain("access_key_id=", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Unsupported host '169.254.170.23'", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, _host.Api.TokenReviewCount);
    }

    /// <summary>
    /// A pod (or, with <paramref name="hostNetwork"/>, a node whose hostNetwork pod has no IP of its own) in its own
    /// network namespace, its token file written as the kubelet projects it, and only the webhook's two variables.
    /// </summary>
    private async Task<(PodNetwork Pod, Dictionary<string, string?> Environment)> CreatePodAsync(string ns, string serviceAccount, bool hostNetwork)
    {
        var ip = IPAddress.Parse($"10.78.{Environment.ProcessId % 200}.{Interlocked.Increment(ref _nextPod) % 250 + 2}");
        _host.Api.Create(KubeObjects.ServiceAccount(ns, serviceAccount, KubeObjects.RoleArn(serviceAccount)));
        _host.Api.Create(KubeObjects.Pod(ns, serviceAccount + "-pod", hostNetwork ? null : ip.ToString(), serviceAccount, hostNetwork: hostNetwork));
        var pod = await PodNetwork.CreateAsync(ip);
        // What ip2service's pod-identity target does on a node: 169.254.170.23:80 goes to the token door.
        await pod.Namespace.RunCheckedAsync("iptables", ["-t", "nat", "-A", "OUTPUT", "-d", "169.254.170.23/32", "-p", "tcp", "--dport", "80",
            "-j", "DNAT", "--to-destination", $"{pod.GatewayIp}:{_host.TokenEndpoint.Port}"]);
        var folder = Directory.CreateDirectory(Path.Combine(_home, ns + "-" + serviceAccount)).FullName;
        var tokenFile = Path.Combine(folder, "token");
        await File.WriteAllTextAsync(tokenFile, _host.Api.IssueServiceAccountToken(ns, serviceAccount + "-pod", [Iam4KubeOptions.DefaultTokenAudience]));
        var env = SdkClients.Environment(null, folder);
        env["AWS_EC2_METADATA_DISABLED"] = "true";
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://169.254.170.23/v1/credentials";
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile;
        return (pod, env);
    }
}
