using System.Net;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Credentials;

/// <summary>--session-tags: the AssumeRole form STS receives, and a trust policy that lacks sts:TagSession.</summary>
public sealed class SessionTagsTests : ClusterBeforeAppTests
{
    private static readonly string AppRole = KubeObjects.RoleArn("app-role");

    private protected override void Arrange(Iam4KubeTestHost host)
    {
        host.Api.Create(KubeObjects.ServiceAccount("team", "app", AppRole, externalId: "ext-42"));
        host.Api.Create(KubeObjects.Pod("team", "app-1", "127.0.30.1", "app"));
    }

    [Fact]
    public async Task SendsTheEksPodIdentityTagsAllTransitiveWithTheClusterName()
    {
        await Host.StartAppAsync(o => o with { SessionTags = true, ClusterName = "prod-eu" });
        var call = await CredentialsCallAsync();
        Assert.Equal(["kubernetes-namespace=team", "kubernetes-service-account=app", "eks-cluster-name=prod-eu"], call.Tags);
        Assert.Equal(["kubernetes-namespace", "kubernetes-service-account", "eks-cluster-name"], call.TransitiveTagKeys);
        Assert.Equal(("team@app", "ext-42", 3600), (call.RoleSessionName, call.ExternalId, call.DurationSeconds));
    }

    [Fact]
    public async Task WithoutAClusterNameSendsOnlyTheKubernetesTags()
    {
        await Host.StartAppAsync(o => o with { SessionTags = true });
        var call = await CredentialsCallAsync();
        Assert.Equal(["kubernetes-namespace=team", "kubernetes-service-account=app"], call.Tags);
        Assert.Equal(["kubernetes-namespace", "kubernetes-service-account"], call.TransitiveTagKeys);
    }

    [Fact]
    public async Task SendsNoTagsUnlessAskedTo()
    {
        await Host.StartAppAsync();
        var call = await CredentialsCallAsync();
        Assert.Empty(call.Tags);
        Assert.Empty(call.TransitiveTagKeys);
    }

    [Fact]
    public async Task ATrustPolicyWithoutTagSessionIsReportedAsSuchAndTreatedAsAnyDenial()
    {
        Host.Sts.FailWith(StsFault.TagSessionDenied, AppRole);
        await Host.StartAppAsync(o => o with { SessionTags = true });
        await Host.WaitUntilReadyAsync();

        using var pod = Host.ClientFrom("127.0.30.1");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not sts:TagSession, which --session-tags needs", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await Eventually.TrueAsync(
            () => Host.Api.Events.Any(e => e.Reason == "IamAssumeRoleDenied" && e.InvolvedObject.Name == "app-1"
                && e.Message.Contains("TagSessionDenied: the role's trust policy allows sts:AssumeRole but not sts:TagSession", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "no IamAssumeRoleDenied event naming sts:TagSession on the pod");
        Assert.Contains(Host.LogText.Split('\n'), line => line.Contains("\"Code\":\"TagSessionDenied\"", StringComparison.Ordinal)
            && line.Contains("is not authorized to perform: sts:TagSession", StringComparison.Ordinal));
        using var admin = Host.AdminClient();
        Assert.Contains("iam4kube_sts_calls_total{outcome=\"TagSessionDenied\"} 1", await admin.GetStringAsync("/metrics"), StringComparison.Ordinal);

        // A permanent failure: retried only after a minute or more, so one call so far.
        Assert.Single(Host.Sts.Calls);
    }

    private async Task<AssumeRoleCall> CredentialsCallAsync()
    {
        using var pod = Host.ClientFrom("127.0.30.1");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single(Host.Sts.Calls);
    }
}
