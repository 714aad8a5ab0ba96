using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Sdk;

namespace Ip2Service.Tests.EndToEnd;

/// <summary>
/// Real SDKs speak EKS Pod Identity's protocol with nothing but the two variables the webhook injects and a token
/// file: they ask http://169.254.170.23/v1/credentials, ip2service's pod-identity target (`--pod-identity-port
/// pod-identity`) sends it to iam4kube's token door, and the token, not the source address, says who they are. A
/// pod in its own network namespace goes through the node's PREROUTING hook; a hostNetwork "pod" runs in the node's
/// namespace itself and goes through the OUTPUT hook.
/// </summary>
public sealed class PodIdentityBehindIp2ServiceTests(PodIdentityBehindIp2ServiceTests.Node node)
    : IClassFixture<PodIdentityBehindIp2ServiceTests.Node>
{
    [Fact]
    public Task AwsSdkForDotnetInAPodGetsItsRoleFromTheTokenDoorThroughIp2Service() =>
        AssertGetsRoleAsync(node.System.Topology.Pod.Namespace, "dotnet", ["exec", Checkout.DotnetImdsClientDll(), "container"],
            node.PodEnvironment, "checkout", "shop@checkout");

    [Fact]
    public Task JavaScriptSdkV3InAPodGetsItsRoleFromTheTokenDoorThroughIp2Service() =>
        AssertGetsRoleAsync(node.System.Topology.Pod.Namespace, SdkClients.Node, [Checkout.JsImdsClientScript(), "container"],
            node.PodEnvironment, "checkout", "shop@checkout");

    [Fact]
    public Task AHostNetworkPodOnTheNodeGetsItsRoleFromItsTokenThroughIp2ServicesOutputHook() =>
        AssertGetsRoleAsync(node.System.Topology.Node, "dotnet", ["exec", Checkout.DotnetImdsClientDll(), "container"],
            node.HostNetworkEnvironment, "node-agent", "kube-system@node-agent");

    /// <summary>
    /// Debian's python3-botocore (1.29.27, bookworm; awscli 2.9.19 uses it) predates EKS Pod Identity: it refuses
    /// the host 169.254.170.23 ("Unsupported host") and knows no token file, so it gets no credentials this way (its
    /// IMDS provider still works through the IMDS door). docs/metadata-api.md says so; a Debian update that adds the
    /// support makes this fail, and the doc must change.
    /// </summary>
    [Fact]
    public async Task DebiansBotocoreIsTooOldForTheTokenFile()
    {
        Botocore.EnsureInstalled();
        var reviewsBefore = node.System.Api.TokenReviewCount;

        var result = await node.System.Topology.Pod.RunAsync(
            Botocore.Python, ["-c", Botocore.CredentialsScript], node.PodEnvironment, TimeSpan.FromSeconds(30));

        Assert.False(result.Succeeded, result.ToString());
        Assert.DoesNotContain("access_key_id=", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Unsupported host '169.254.170.23'", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(reviewsBefore, node.System.Api.TokenReviewCount);
    }

    /// <summary>The SDK, run <paramref name="where"/>, printed credentials STS minted for the role as the session.</summary>
    private async Task AssertGetsRoleAsync(NetworkNamespace where, string program, string[] args, Dictionary<string, string?> env, string role, string session)
    {
        var result = await where.RunAsync(program, args, env, Iam4KubeOnANode.Timeout);
        SdkClients.AssertIssuedFor(
            node.System.Sts, result.Succeeded ? result : result with { StandardError = $"{result.StandardError}\n{node.System.Context}" }, role, session);
    }

    /// <summary>
    /// One node for the class: the pod shop/checkout-pod (ServiceAccount checkout) in the pod namespace, and the
    /// hostNetwork pod kube-system/node-agent-pod (no IP of its own), each with a token for iam4kube's audience
    /// written as the kubelet projects it.
    /// </summary>
    public sealed class Node : IAsyncLifetime
    {
        internal Iam4KubeOnANode System { get; private set; } = null!;

        public Dictionary<string, string?> PodEnvironment { get; private set; } = null!;

        public Dictionary<string, string?> HostNetworkEnvironment { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            SdkClients.EnsureInstalled();
            System = await Iam4KubeOnANode.StartAsync(
                (api, podIp) =>
                {
                    api.Create(KubeObjects.ServiceAccount("shop", "checkout", KubeObjects.RoleArn("checkout")));
                    api.Create(KubeObjects.Pod("shop", "checkout-pod", podIp.ToString(), "checkout", node: "node-1"));
                    api.Create(KubeObjects.ServiceAccount("kube-system", "node-agent", KubeObjects.RoleArn("node-agent")));
                    api.Create(KubeObjects.Pod("kube-system", "node-agent-pod", null, "node-agent", node: "node-1", hostNetwork: true));
                },
                tokenDoor: true);
            PodEnvironment = await EnvironmentWithTokenAsync("shop", "checkout-pod");
            HostNetworkEnvironment = await EnvironmentWithTokenAsync("kube-system", "node-agent-pod");
        }

        public async Task DisposeAsync() => await System.DisposeAsync();

        private async Task<Dictionary<string, string?>> EnvironmentWithTokenAsync(string ns, string pod)
        {
            var folder = Directory.CreateDirectory(Path.Combine(System.Home, ns + "-" + pod)).FullName;
            var tokenFile = Path.Combine(folder, "token");
            await File.WriteAllTextAsync(tokenFile, System.Api.IssueServiceAccountToken(ns, pod, [Iam4KubeOnANode.TokenAudience]));
            return SdkClients.PodIdentityEnvironment(folder, tokenFile);
        }
    }
}
