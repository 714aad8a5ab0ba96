using System.Net;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Credentials;

/// <summary>--assume-role-arn: the controller role first, with iam4kube's own credentials, then application roles with it.</summary>
public sealed class RoleChainingTests : ClusterBeforeAppTests
{
    private static readonly string ControllerArn = KubeObjects.RoleArn("iam4kube-controller", "999988887777");
    private static readonly string AppRole = KubeObjects.RoleArn("app-role");

    private protected override void Arrange(Iam4KubeTestHost host)
    {
        host.Api.Create(KubeObjects.ServiceAccount("team", "app", AppRole, externalId: "ext-7"));
        host.Api.Create(KubeObjects.Pod("team", "app-1", "127.0.32.1", "app"));
    }

    [Fact]
    public async Task AssumesTheControllerRoleWithItsOwnCredentialsThenTheApplicationRoleWithTheControllers()
    {
        await Host.StartAppAsync(o => o with { AssumeRoleArn = ControllerArn });
        await Host.WaitUntilReadyAsync();
        await GetCredentialsAsync();

        var controller = Assert.Single(Host.Sts.Calls, c => c.RoleArn == ControllerArn);
        Assert.Equal(("iam4kube", 3600, Iam4KubeTestHost.OwnAccessKeyId), (controller.RoleSessionName, controller.DurationSeconds, controller.CallerAccessKeyId));
        var app = Assert.Single(Host.Sts.Calls, c => c.RoleArn == AppRole);
        Assert.Equal(controller.AccessKeyIdIssued, app.CallerAccessKeyId);
        Assert.Equal(("team@app", "ext-7", 3600), (app.RoleSessionName, app.ExternalId, app.DurationSeconds));
    }

    [Fact]
    public async Task ClampsALongerServiceAccountDurationToTheChainingHourWithoutARefusedCall()
    {
        var serviceAccount = KubeObjects.ServiceAccount("team", "batch", AppRole);
        serviceAccount.Metadata.Annotations["iam.amazonaws.com/sessionDuration"] = "4h";
        Host.Api.Create(serviceAccount);
        Host.Api.Create(KubeObjects.Pod("team", "batch-1", "127.0.32.2", "batch"));
        await Host.StartAppAsync(o => o with { AssumeRoleArn = ControllerArn });
        // Two AssumeRole calls in a row (controller, then application role) can outlast the host's 3 s wait timeout on
        // a loaded machine; this test is about the clamp, not about parking.
        await Host.WaitUntilReadyAsync();

        using var pod = Host.ClientFrom("127.0.32.2");
        Assert.Equal(HttpStatusCode.OK, (await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role")).StatusCode);
        var call = Assert.Single(Host.Sts.Calls, c => c.RoleSessionName == "team@batch");
        Assert.Equal(3600, call.DurationSeconds);
        await Eventually.TrueAsync(
            () => Host.Api.Events.Any(e => e.Reason == "IamSessionDurationClamped" && e.InvolvedObject.Name == "batch-1"
                && e.Message.Contains("role chaining (--assume-role-arn) limits sessions to 3600 s", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "no IamSessionDurationClamped event about role chaining");
    }

    [Fact]
    public async Task IsNotReadyWhileTheControllerRoleCannotBeAssumedAndServesOnceItCan()
    {
        Host.Sts.FailWith(StsFault.AccessDenied, ControllerArn);
        await Host.StartAppAsync(o => o with { AssumeRoleArn = ControllerArn, WaitTimeout = TimeSpan.FromSeconds(1) });

        using var admin = Host.AdminClient();
        await Eventually.TrueAsync(() => Host.Sts.Calls.Any(c => c.RoleArn == ControllerArn), TimeSpan.FromSeconds(10), "the controller role was never asked for");
        // The fake STS records the call before iam4kube has read the refusal, so /readyz first says "not assumed yet"
        // and then, once the answer is in, why: wait for the second, bounded; it must never turn ready meanwhile.
        var readyz = await Eventually.ObserveAsync(
            async () =>
            {
                using var answer = await admin.GetAsync("/readyz");
                return (answer.StatusCode, Body: await answer.Content.ReadAsStringAsync());
            },
            seen => seen.StatusCode != HttpStatusCode.ServiceUnavailable || seen.Body.Contains("AccessDenied", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyz.StatusCode);
        Assert.Contains($"cannot assume the controller role {ControllerArn} (--assume-role-arn): AccessDenied", readyz.Body, StringComparison.Ordinal);

        // Pods wait, then hear why: the application role is not to blame.
        using var pod = Host.ClientFrom("127.0.32.1");
        var refused = await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("ControllerRoleUnavailable", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(Host.Sts.Calls, c => c.RoleArn == AppRole);
        Assert.Contains("iam4kube_controller_role_refreshes_total{outcome=\"AccessDenied\"}", await admin.GetStringAsync("/metrics"), StringComparison.Ordinal);

        Host.Sts.Heal();
        await Host.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
        await GetCredentialsAsync();
    }

    private async Task GetCredentialsAsync()
    {
        using var pod = Host.ClientFrom("127.0.32.1");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
