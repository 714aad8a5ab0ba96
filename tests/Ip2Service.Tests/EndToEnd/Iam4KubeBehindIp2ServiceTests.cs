using System.Net;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;
using Iam4Kube.Testing.Sdk;
using Iam4Kube.Testing.Sts;
using Ip2Service.Tests.TestSupport;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.EndToEnd;

/// <summary>
/// The whole system as on a node: an application in a pod asks http://169.254.169.254 for credentials, the
/// node's ip2service rules send it to iam4kube, and iam4kube answers with the credentials STS minted for the pod's
/// ServiceAccount role.
/// <code>
///   pod (P) ──veth──▶ node ──veth (LoopbackBridge)──▶ root namespace: iam4kube on 0.0.0.0:PORT, fake API, fake STS
///                      │ ip2service run: DNAT 169.254.169.254:80 → ROOT-END:PORT (the EndpointSlice's endpoint)
/// </code>
/// iam4kube runs as a real program (`dotnet iam4kube.dll`), ip2service too, botocore is Debian's python3-boto3 with
/// no endpoint override and a clean environment. The root namespace routes P back through the node.
/// </summary>
public sealed class Iam4KubeBehindIp2ServiceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task BotocoreInAPodGetsItsRoleCredentialsFromTheMetadataIpThroughIp2ServiceAndIam4Kube()
    {
        EnsureTools();
        var iam4kubeDll = Checkout.Iam4KubeDll();
        var home = Directory.CreateTempSubdirectory("iam4kube-e2e-home-").FullName;
        try
        {
            using var sts = FakeSts.Start();
            await using var api = new FakeKubernetesApiServer();
            await api.StartAsync();
            await using var topology = await PodBehindNode.CreateAsync();
            var (node, bridge, pod, podIp) = (topology.Node, topology.Bridge, topology.Pod, topology.PodIp);

            // The cluster: the pod, its ServiceAccount with a role, its node, and iam4kube's Service endpoint.
            var roleArn = KubeObjects.RoleArn("checkout");
            api.Create(KubeObjects.Node("node-1", "eu-west-1", "eu-west-1a"));
            api.Create(KubeObjects.ServiceAccount("shop", "checkout", roleArn));
            api.Create(KubeObjects.Pod("shop", "checkout-7d9f8", podIp.ToString(), "checkout", node: "node-1"));

            // iam4kube, a real process in the root namespace.
            var metadataPort = FreePorts.Pick(IPAddress.Any);
            var adminPort = FreePorts.Pick(IPAddress.Loopback);
            await using var iam4kube = NetworkNamespace.Root.Start(
                ProcessRunner.DotnetHost,
                [
                    iam4kubeDll,
                    "--kubeconfig", api.KubeconfigPath,
                    "--sts-endpoint", sts.Url,
                    "--region", "eu-west-1",
                    "--listen", $"0.0.0.0:{metadataPort}",
                    "--admin-listen", $"127.0.0.1:{adminPort}",
                    "--log-format", "text",
                    "--shutdown-delay", "0s",
                    "--drain-timeout", "1s",
                ],
                Iam4KubeProgram.Environment(home));
            await ReadinessProbe.WaitUntilReadyAsync(iam4kube, new Uri($"http://127.0.0.1:{adminPort}/readyz"), Timeout);

            // The EndpointSlice: iam4kube's address as the node sees it (the root end of the node's veth).
            var iam4kubeEndpoint = $"{bridge.RootAddress}:{metadataPort}";
            api.Create(Slice("iam4kube-e2e01", [Endpoint(bridge.RootAddress.ToString())], port: metadataPort));

            // ip2service in the node, reaching the fake API through the bridge.
            using var kubeconfig = new TemporaryKubeconfig(bridge.Expose(new IPEndPoint(IPAddress.Loopback, api.BaseAddress.Port)));
            await using var ip2service = Ip2ServiceBinary.Start(
                node,
                "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig.Path,
                "--iptables-backend", "nft");
            await ip2service.WaitForLineAsync($"1 endpoint(s): [{iam4kubeEndpoint}]", Timeout);
            await ip2service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);

            // botocore in the pod: default chain, no endpoint override, nothing in the environment but HOME and PATH.
            var result = await pod.RunAsync(
                "/usr/bin/env",
                [
                    "-i",
                    $"HOME={home}",
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    $"AWS_CONFIG_FILE={Path.Combine(home, "aws-config")}",
                    $"AWS_SHARED_CREDENTIALS_FILE={Path.Combine(home, "aws-credentials")}",
                    Botocore.Python, "-c", Botocore.CredentialsScript,
                ],
                timeout: TimeSpan.FromSeconds(30));

            var context = $"{result}\n--- iam4kube ---\n{iam4kube.Output}\n--- ip2service ---\n{ip2service.Output}";
            Assert.True(result.Succeeded, context);
            var values = Botocore.ParseOutput(result.StandardOutput);
            Assert.Equal("iam-role", values.GetValueOrDefault("method"));
            Assert.Equal("True", values.GetValueOrDefault("has_token"));
            Assert.Equal(16, values.GetValueOrDefault("secret_sha256_16")?.Length ?? 0);
            var accessKeyId = values.GetValueOrDefault("access_key_id");
            var call = sts.Calls.SingleOrDefault(c => c.AccessKeyIdIssued == accessKeyId);
            Assert.True(call is not null, $"the access key botocore got ({accessKeyId}) is not one the fake STS minted\n{context}");
            Assert.Equal(roleArn, call.RoleArn);
            Assert.Equal("shop@checkout", call.RoleSessionName);
            Assert.Equal(Botocore.SecretFingerprint(sts.Issued[accessKeyId!].SecretAccessKey), values["secret_sha256_16"]);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static void EnsureTools()
    {
        NetworkPrerequisites.EnsureIptables();
        Botocore.EnsureInstalled();
        if (!File.Exists("/usr/bin/env"))
        {
            throw new InvalidOperationException("/usr/bin/env (coreutils) is needed");
        }
    }
}
