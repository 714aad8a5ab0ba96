using System.Net;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;
using k8s.Models;

namespace Iam4Kube.Tests.Credentials;

/// <summary>iam.amazonaws.com/sessionDuration, and STS refusing a duration above the role's MaxSessionDuration.</summary>
public sealed class SessionDurationTests : ClusterBeforeAppTests
{
    private static readonly string AppRole = KubeObjects.RoleArn("app-role");

    [Fact]
    public async Task AsksStsForTheServiceAccountsOwnDuration()
    {
        CreateServiceAccountAndPod("2h");
        await Host.StartAppAsync();

        await GetCredentialsAsync();
        var call = Assert.Single(Host.Sts.Calls);
        Assert.Equal(7200, call.DurationSeconds);
    }

    [Fact]
    public async Task ADurationAboveTheRolesMaximumFallsBackToTheDefaultOnceWithAnEvent()
    {
        Host.Sts.SetMaxSessionDuration(AppRole, TimeSpan.FromHours(1));
        CreateServiceAccountAndPod("4h");
        await Host.StartAppAsync();

        await GetCredentialsAsync();
        Assert.Equal([14400, 3600], Host.Sts.Calls.Select(c => c.DurationSeconds));
        Assert.Null(Host.Sts.Calls[0].AccessKeyIdIssued);

        await Eventually.TrueAsync(
            () => Host.Api.Events.Any(e => e.Reason == "IamSessionDurationClamped" && e.Type == "Warning" && e.InvolvedObject.Name == "app-1"
                && e.Message.Contains("STS refused a 14400 s session", StringComparison.Ordinal)
                && e.Message.Contains("exceeds the MaxSessionDuration set for this role", StringComparison.Ordinal)
                && e.Message.Contains("sessions last 3600 s instead", StringComparison.Ordinal)
                && e.Message.Contains("iam.amazonaws.com/sessionDuration", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "no IamSessionDurationClamped event explaining the fallback");
        using var admin = Host.AdminClient();
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("iam4kube_session_duration_fallbacks_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("iam4kube_sts_calls_total{outcome=\"SessionDurationTooLong\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(Host.LogText.Split('\n'), line => line.Contains("asking again for", StringComparison.Ordinal));

        // The shorter duration sticks: a second request is served from the cache, no new call.
        await GetCredentialsAsync();
        Assert.Equal(2, Host.Sts.Calls.Count);
    }

    [Fact]
    public async Task StepsDownThroughTheDefaultDurationToStsOwnHourAndNoFurther()
    {
        Host.Sts.SetMaxSessionDuration(AppRole, TimeSpan.FromHours(1));
        CreateServiceAccountAndPod("4h");
        await Host.StartAppAsync(o => o with { SessionDuration = TimeSpan.FromHours(2) });

        await GetCredentialsAsync();
        Assert.Equal([14400, 7200, 3600], Host.Sts.Calls.Select(c => c.DurationSeconds));
    }

    [Fact]
    public async Task ARoleMaximumBelowTheStsHourIsADenialNotALoop()
    {
        // IAM does not allow a MaxSessionDuration under an hour, but if STS refused even the hour, iam4kube stops there.
        Host.Sts.SetMaxSessionDuration(AppRole, TimeSpan.FromMinutes(30));
        CreateServiceAccountAndPod(null);
        await Host.StartAppAsync();
        await Host.WaitUntilReadyAsync();

        using var pod = Host.ClientFrom("127.0.31.1");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("SessionDurationTooLong", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(Host.Sts.Calls);
    }

    private void CreateServiceAccountAndPod(string? duration)
    {
        var serviceAccount = KubeObjects.ServiceAccount("team", "app", AppRole);
        if (duration is not null)
        {
            serviceAccount.Metadata.Annotations["iam.amazonaws.com/sessionDuration"] = duration;
        }

        Host.Api.Create(serviceAccount);
        Host.Api.Create(KubeObjects.Pod("team", "app-1", "127.0.31.1", "app"));
    }

    private async Task GetCredentialsAsync()
    {
        using var pod = Host.ClientFrom("127.0.31.1");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/app-role");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
