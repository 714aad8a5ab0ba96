using System.Diagnostics;
using System.Net;
using Iam4Kube.Hosting;
using Iam4Kube.Observability;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Hosting;

/// <summary>/readyz: one failing role holds a new replica back for --ready-wait-for-roles at most, never longer.</summary>
public sealed class ReadinessTests : ClusterBeforeAppTests
{
    private static readonly string Throttled = KubeObjects.RoleArn("throttled");
    private static readonly string Healthy = KubeObjects.RoleArn("healthy");

    [Fact]
    public async Task AThrottledRoleHoldsReadinessBackOnlyForTheBoundAndNeverBlocksOtherRoles()
    {
        var bound = TimeSpan.FromSeconds(5);
        Host.Sts.FailWith(StsFault.Throttling, Throttled);
        Host.Api.Create(KubeObjects.ServiceAccount("a", "slow", Throttled));
        Host.Api.Create(KubeObjects.ServiceAccount("b", "fine", Healthy));
        Host.Api.Create(KubeObjects.Pod("a", "slow-1", "127.0.21.1", "slow"));
        Host.Api.Create(KubeObjects.Pod("b", "fine-1", "127.0.21.2", "fine"));
        await Host.StartAppAsync(o => o with { ReadyWaitForRoles = bound, WaitTimeout = TimeSpan.FromSeconds(1) });

        using var admin = Host.AdminClient();
        var waiting = await Eventually.ObserveAsync(async () =>
            {
                var response = await admin.GetAsync("/readyz");
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            },
            // Both roles are awaited for a moment at start; once the healthy one is in, only the throttled one holds readiness.
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable && r.Body.Contains("waiting for the credentials of 1 roles", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        var waitingSeen = Stopwatch.GetTimestamp();
        Assert.Contains($"waiting for the credentials of 1 roles in use (e.g. {Throttled})", waiting.Body, StringComparison.Ordinal);

        // Meanwhile the other role's pod is served: the throttled role has never succeeded.
        using var fine = Host.ClientFrom("127.0.21.2");
        await Eventually.TrueAsync(async () => (await fine.GetAsync("/latest/meta-data/iam/security-credentials/healthy")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(5), "the healthy role's pod was not served while another role was throttled");

        await Eventually.TrueAsync(async () => (await admin.GetAsync("/readyz")).IsSuccessStatusCode, bound + TimeSpan.FromSeconds(15), "never ready without the throttled role");
        var waited = Stopwatch.GetElapsedTime(waitingSeen);
        Assert.True(waited < bound + TimeSpan.FromSeconds(10), $"ready only after {waited}");

        // Said where each audience looks: the role's pods (Warning Event), the metric, the log.
        await Eventually.TrueAsync(() => Task.FromResult(Host.Api.Events.Any(e => e.Reason == "IamCredentialsDelayed" && e.InvolvedObject.Name == "slow-1"
                && e.Type == "Warning" && e.Message.Contains("Throttling", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "no IamCredentialsDelayed event on the throttled role's pod");
        Assert.DoesNotContain(Host.Api.Events, e => e.Reason == "IamCredentialsDelayed" && e.InvolvedObject.Name == "fine-1");
        Assert.Equal(1, Host.Service<Iam4KubeMetrics>().RolesSkippedForReadiness.Value);
        Assert.Contains("Ready without credentials for", Host.LogText, StringComparison.Ordinal);

        // The throttled role was retried with backoff, not in a loop, and its pod gets 503 (retry) until STS answers.
        var calls = Host.Sts.Calls.Count(c => c.RoleArn == Throttled);
        Assert.InRange(calls, 2, 10);
        using var slow = Host.ClientFrom("127.0.21.1");
        var refused = await slow.GetAsync("/latest/meta-data/iam/security-credentials/throttled");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Host.Sts.Heal();
        await Eventually.TrueAsync(async () => (await slow.GetAsync("/latest/meta-data/iam/security-credentials/throttled")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "the throttled role never recovered");
        Assert.True((await admin.GetAsync("/readyz")).IsSuccessStatusCode);
    }

    [Fact]
    public async Task WithinTheBoundAFailingRoleKeepsTheReplicaUnready()
    {
        Host.Sts.FailWith(StsFault.ServerError, Throttled);
        Host.Api.Create(KubeObjects.ServiceAccount("a", "slow", Throttled));
        Host.Api.Create(KubeObjects.Pod("a", "slow-1", "127.0.21.3", "slow"));
        await Host.StartAppAsync(o => o with { ReadyWaitForRoles = TimeSpan.FromMinutes(10) });

        using var admin = Host.AdminClient();
        await Eventually.TrueAsync(() => Task.FromResult(Host.Sts.Calls.Count(c => c.RoleArn == Throttled) >= 3), TimeSpan.FromSeconds(20), "STS was not retried");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/readyz")).StatusCode);
        Assert.Equal(0, Host.Service<Iam4KubeMetrics>().RolesSkippedForReadiness.Value);
        Assert.Equal(0, Host.Compactions);
    }

    [Fact]
    public async Task OnceReadyTheFirstSyncsGarbageIsReturnedOnceAndSaidSo()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("b", "fine", Healthy));
        Host.Api.Create(KubeObjects.Pod("b", "fine-1", "127.0.21.4", "fine"));
        await Host.StartAppAsync();
        Assert.Equal(0, Host.Compactions);

        await Host.WaitUntilReadyAsync();
        await Eventually.TrueAsync(() => Task.FromResult(Host.Compactions == 1), TimeSpan.FromSeconds(10), "the heap was not compacted once ready");
        await Eventually.TrueAsync(() => Task.FromResult(Host.LogText.Contains("compacted the heap after the first sync", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the compaction was not logged");

        // Readiness stays latched: later probes, and a role added afterwards, do not compact again.
        using var admin = Host.AdminClient();
        Host.Api.Create(KubeObjects.ServiceAccount("c", "later", KubeObjects.RoleArn("later")));
        Host.Api.Create(KubeObjects.Pod("c", "later-1", "127.0.21.5", "later"));
        using var later = Host.ClientFrom("127.0.21.5");
        Assert.Equal(HttpStatusCode.OK, (await later.GetAsync("/latest/meta-data/iam/security-credentials/later")).StatusCode);
        Assert.True((await admin.GetAsync("/readyz")).IsSuccessStatusCode);
        Assert.Equal(1, Host.Compactions);
    }

    [Fact]
    public void ProductionCompactionIsAFullCollection()
    {
        var fullCollections = GC.CollectionCount(GC.MaxGeneration);
        FirstSyncCompaction.Aggressive();
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > fullCollections);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("10.2.3.4", false)]
    [InlineData("fd00::5", false)]
    public void ReadyzNamesRolesOnlyToLoopbackCallers(string caller, bool detailed)
    {
        var answer = new ReadinessAnswer(false, "waiting for the credentials of 1 roles in use", $"waiting for the credentials of 1 roles in use (e.g. {Throttled})");
        var text = AdminApi.ReadinessText(answer, IPAddress.Parse(caller));
        Assert.Equal(detailed, text.Contains(Throttled, StringComparison.Ordinal));
        Assert.StartsWith("waiting for the credentials of 1 roles in use", text, StringComparison.Ordinal);
    }
}
