using System.Net;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Testing;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Credentials;

/// <summary>What pods, readiness, events and metrics see when STS misbehaves.</summary>
public sealed class StsFaultTests : ClusterBeforeAppTests
{
    [Fact]
    public async Task IsNotReadyUntilTheCredentialsOfRolesInUseAreFetched()
    {
        Host.Sts.FailWith(StsFault.Latency(TimeSpan.FromSeconds(2)));
        Host.Api.Create(KubeObjects.ServiceAccount("a", "slow", KubeObjects.RoleArn("slow")));
        Host.Api.Create(KubeObjects.Pod("a", "slow-1", "127.0.20.1", "slow"));
        await Host.StartAppAsync();

        using var admin = Host.AdminClient();
        await Eventually.TrueAsync(() => Host.Sts.Calls.Count > 0, TimeSpan.FromSeconds(10), "no STS call");
        var early = await admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
        Assert.Contains("waiting for the credentials of 1 roles", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await Host.WaitUntilReadyAsync();
        using var pod = Host.ClientFrom("127.0.20.1");
        Assert.Equal(HttpStatusCode.OK, (await pod.GetAsync("/latest/meta-data/iam/security-credentials/slow")).StatusCode);
    }

    [Fact]
    public async Task AccessDeniedGives404AWarningEventAndAMetricWithoutHoldingReadinessBack()
    {
        Host.Sts.FailWith(StsFault.AccessDenied, KubeObjects.RoleArn("untrusting"));
        Host.Api.Create(KubeObjects.ServiceAccount("a", "denied", KubeObjects.RoleArn("untrusting")));
        Host.Api.Create(KubeObjects.Pod("a", "denied-1", "127.0.20.2", "denied"));
        await Host.StartAppAsync();
        await Host.WaitUntilReadyAsync();

        using var pod = Host.ClientFrom("127.0.20.2");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/untrusting");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("AccessDenied", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await Eventually.TrueAsync(() => Host.Api.Events.Any(e => e.Reason == "IamAssumeRoleDenied" && e.InvolvedObject.Name == "denied-1" && e.Type == "Warning"),
            TimeSpan.FromSeconds(10), "no IamAssumeRoleDenied event on the pod");
        using var admin = Host.AdminClient();
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("iam4kube_request_outcomes_total{outcome=\"sts_denied\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("iam4kube_sts_calls_total{outcome=\"AccessDenied\"}", metrics, StringComparison.Ordinal);

        // Not retried in a hot loop: one call, and the next one a minute or more later.
        Assert.Single(Host.Sts.Calls, c => c.RoleArn == KubeObjects.RoleArn("untrusting"));
    }

    [Theory]
    [InlineData("throttling")]
    [InlineData("server-error")]
    [InlineData("connection-reset")]
    public async Task TransientFailuresWithNoCredentialsYetAnswer503AfterTheWaitAndAreRetried(string fault)
    {
        Host.Sts.FailWith(fault switch
        {
            "throttling" => StsFault.Throttling,
            "server-error" => StsFault.ServerError,
            _ => StsFault.ConnectionReset,
        });
        Host.Api.Create(KubeObjects.ServiceAccount("a", "flaky", KubeObjects.RoleArn("flaky")));
        Host.Api.Create(KubeObjects.Pod("a", "flaky-1", "127.0.20.3", "flaky"));
        await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(1) });

        using var pod = Host.ClientFrom("127.0.20.3");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/flaky");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());

        // Retried with backoff; once STS heals, the parked or next request gets credentials.
        Host.Sts.Heal();
        await Eventually.TrueAsync(async () => (await pod.GetAsync("/latest/meta-data/iam/security-credentials/flaky")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(20), "credentials never arrived after STS healed");
        Assert.True(Host.Sts.Calls.Count(c => c.RoleArn == KubeObjects.RoleArn("flaky")) >= 2);
    }

    [Fact]
    public async Task TheRateLimitHoldsWhenManyServiceAccountsAppearAtOnce()
    {
        await Host.StartAppAsync(o => o with { StsRate = 5, StsBurst = 5 });
        await Host.WaitUntilReadyAsync();
        var started = DateTimeOffset.UtcNow;
        for (var i = 0; i < 20; i++)
        {
            Host.Api.Create(KubeObjects.ServiceAccount("many", $"sa{i}", KubeObjects.RoleArn($"role{i}")));
        }

        await Host.Sts.WaitForCallsAsync(20, TimeSpan.FromSeconds(20));
        var calls = Host.Sts.Calls.Where(c => c.RoleSessionName.StartsWith("many@", StringComparison.Ordinal)).OrderBy(c => c.At).ToList();
        Assert.Equal(20, calls.Count);
        // burst 5, then 5/s: the 20th call cannot come before ~3 s.
        Assert.True(calls[^1].At - started >= TimeSpan.FromSeconds(2.5), $"20 calls took only {calls[^1].At - started}");
        foreach (var call in calls)
        {
            var inWindow = calls.Count(c => c.At >= call.At && c.At < call.At + TimeSpan.FromSeconds(1));
            Assert.True(inWindow <= 5 + 5 + 1, $"{inWindow} calls within one second");
        }
    }
}
