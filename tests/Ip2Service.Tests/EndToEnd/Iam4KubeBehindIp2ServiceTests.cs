using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sdk;

namespace Ip2Service.Tests.EndToEnd;

/// <summary>
/// The whole system as on a node (<see cref="Iam4KubeOnANode"/>): an application in a pod asks
/// http://169.254.169.254 for credentials, the node's ip2service rules send it to iam4kube, and iam4kube answers
/// with the credentials STS minted for the pod's ServiceAccount role. botocore is Debian's python3-boto3 with no
/// endpoint override and a clean environment.
/// </summary>
public sealed class Iam4KubeBehindIp2ServiceTests
{
    [Fact]
    public async Task BotocoreInAPodGetsItsRoleCredentialsFromTheMetadataIpThroughIp2ServiceAndIam4Kube()
    {
        EnsureTools();
        var roleArn = KubeObjects.RoleArn("checkout");
        await using var node = await Iam4KubeOnANode.StartAsync((api, podIp) =>
        {
            api.Create(KubeObjects.ServiceAccount("shop", "checkout", roleArn));
            api.Create(KubeObjects.Pod("shop", "checkout-7d9f8", podIp.ToString(), "checkout", node: "node-1"));
        });
        var home = node.Home;

        // botocore in the pod: default chain, no endpoint override, nothing in the environment but HOME and PATH.
        var result = await node.Topology.Pod.RunAsync(
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

        var context = $"{result}\n{node.Context}";
        Assert.True(result.Succeeded, context);
        var values = Botocore.ParseOutput(result.StandardOutput);
        Assert.Equal("iam-role", values.GetValueOrDefault("method"));
        Assert.Equal("True", values.GetValueOrDefault("has_token"));
        Assert.Equal(16, values.GetValueOrDefault("secret_sha256_16")?.Length ?? 0);
        var accessKeyId = values.GetValueOrDefault("access_key_id");
        var call = node.Sts.Calls.SingleOrDefault(c => c.AccessKeyIdIssued == accessKeyId);
        Assert.True(call is not null, $"the access key botocore got ({accessKeyId}) is not one the fake STS minted\n{context}");
        Assert.Equal(roleArn, call.RoleArn);
        Assert.Equal("shop@checkout", call.RoleSessionName);
        Assert.Equal(Botocore.SecretFingerprint(node.Sts.Issued[accessKeyId!].SecretAccessKey), values["secret_sha256_16"]);
    }

    private static void EnsureTools()
    {
        Botocore.EnsureInstalled();
        if (!File.Exists("/usr/bin/env"))
        {
            throw new InvalidOperationException("/usr/bin/env (coreutils) is needed");
        }
    }
}
