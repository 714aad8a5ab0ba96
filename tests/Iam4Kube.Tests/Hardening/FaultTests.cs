using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Iam4Kube.Hosting;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Sts;
using Iam4Kube.Testing;
using Iam4Kube.Tests.TestHost;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// STS and Kubernetes API faults through the whole host: requests keep being answered correctly. Complements
/// Credentials/StsFaultTests (throttling, AccessDenied, 5xx, reset → 503 then recovery, rate limit) and
/// Cluster/ClusterViewTests (the informers alone).
/// </summary>
public sealed partial class FaultTests : ClusterBeforeAppTests
{
    [Fact]
    public async Task ASlowStsAnswerForOneRoleDoesNotHoldBackOtherRoles()
    {
        await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(1) });
        await Host.WaitUntilReadyAsync();
        Host.Sts.FailWith(StsFault.Latency(TimeSpan.FromSeconds(10)), KubeObjects.RoleArn("slow"));
        Host.Api.Create(KubeObjects.ServiceAccount("a", "slow", KubeObjects.RoleArn("slow")));
        Host.Api.Create(KubeObjects.Pod("a", "slow-1", "127.0.46.1", "slow"));
        await Eventually.TrueAsync(() => Host.Sts.Calls.Any(c => c.RoleArn == KubeObjects.RoleArn("slow")), TimeSpan.FromSeconds(10), "no STS call for the slow role");

        // While STS sits on the slow role's call, another role is fetched and served at once.
        var started = DateTimeOffset.UtcNow;
        Host.Api.Create(KubeObjects.ServiceAccount("b", "fast", KubeObjects.RoleArn("fast")));
        Host.Api.Create(KubeObjects.Pod("b", "fast-1", "127.0.46.2", "fast"));
        using var fast = Host.ClientFrom("127.0.46.2");
        var response = await fast.GetAsync("/latest/meta-data/iam/security-credentials/fast");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Well under the slow call's 10 s, with room for a loaded CI machine.
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(6), $"the fast role took {DateTimeOffset.UtcNow - started}");

        // The slow role's pod waits its wait timeout, then hears 503 with Retry-After: never a hang, never a 500.
        using var slow = Host.ClientFrom("127.0.46.1");
        var waited = await slow.GetAsync("/latest/meta-data/iam/security-credentials/slow");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, waited.StatusCode);
        Assert.Equal("1", waited.Headers.GetValues("Retry-After").Single());
        Assert.Single(Host.Sts.Calls, c => c.RoleArn == KubeObjects.RoleArn("slow"));
    }

    /// <summary>
    /// The STS client as production builds it (CreateStsClient): one logical AssumeRole must be one HTTP request, even
    /// when the connection is reset, or the rate limiter would count a tenth of what STS sees.
    /// </summary>
    [Fact]
    public async Task OneLogicalStsCallIsAtMostOneStsRequestEvenWhenConnectionsAreReset()
    {
        Host.Sts.FailWith(StsFault.ConnectionReset);
        Host.Api.Create(KubeObjects.ServiceAccount("a", "reset", KubeObjects.RoleArn("reset")));
        Host.Api.Create(KubeObjects.Pod("a", "reset-1", "127.0.46.3", "reset"));
        await Host.StartAppAsync(o => o with { StsRate = 1, StsBurst = 1 }, services => services.Replace(
            ServiceDescriptor.Singleton<IAmazonSecurityTokenService>(sp => ProductionStsClient(sp.GetRequiredService<Iam4KubeOptions>()))));

        await Eventually.TrueAsync(async () => await LogicalStsCallsAsync() >= 3, TimeSpan.FromSeconds(20), "fewer than 3 AssumeRole attempts");
        var logical = await LogicalStsCallsAsync();
        var requests = Host.Sts.Calls.Count(c => c.RoleArn == KubeObjects.RoleArn("reset"));
        Assert.True(requests <= logical + 1, $"{logical} logical AssumeRole calls caused {requests} STS requests");

        Host.Sts.Heal();
        using var pod = Host.ClientFrom("127.0.46.3");
        await Eventually.TrueAsync(async () => (await pod.GetAsync("/latest/meta-data/iam/security-credentials/reset")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "credentials never arrived after STS healed");
    }

    [Fact]
    public async Task KeepsServingFromItsCacheWhileTheApiServerIsDownAndStaysReady()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("a", "app", KubeObjects.RoleArn("cached")));
        Host.Api.Create(KubeObjects.Pod("a", "app-1", "127.0.46.4", "app"));
        await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(1) });
        await Host.WaitUntilReadyAsync();

        Host.Api.Unavailable = true;
        using var pod = Host.ClientFrom("127.0.46.4");
        using var admin = Host.AdminClient();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await pod.GetAsync("/latest/meta-data/iam/security-credentials/cached")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);
            await Task.Delay(200);
        }

        using var stranger = Host.ClientFrom("127.0.46.5");
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync("/latest/meta-data/iam/security-credentials/")).StatusCode);

        Host.Api.Unavailable = false;
        Host.Api.Create(KubeObjects.Pod("a", "app-2", "127.0.46.5", "app"));
        await Eventually.TrueAsync(async () => (await stranger.GetAsync("/latest/meta-data/iam/security-credentials/cached")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "a pod created after the outage was never served");
    }

    [Fact]
    public async Task AnIpReusedBehindACutWatchAndA410NeverServesTheOldPodsRole()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("old", "app", KubeObjects.RoleArn("old-role")));
        Host.Api.Create(KubeObjects.ServiceAccount("new", "app", KubeObjects.RoleArn("new-role")));
        Host.Api.Create(KubeObjects.Pod("old", "app-1", "127.0.46.6", "app"));
        await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(1) });
        await Host.WaitUntilReadyAsync();
        using var pod = Host.ClientFrom("127.0.46.6");
        Assert.Equal("old-role", await pod.GetStringAsync("/latest/meta-data/iam/security-credentials/"));

        // The old pod's DELETE is missed, its IP goes to a pod of another namespace, history is compacted, the
        // watch is cut in the middle of a frame: only a relist (after 410) can tell.
        Host.Api.DeleteSilently<V1Pod>("old", "app-1");
        Host.Api.Create(KubeObjects.Pod("new", "app-1", "127.0.46.6", "app"));
        Host.Api.CompactHistory();
        Host.Api.DropWatches(midFrame: true);

        // Meanwhile both pods claim the IP (ambiguous: 404) or only the old one is known: never a 200 for the old role
        // once the new pod is seen, and eventually the new role.
        await Eventually.TrueAsync(async () =>
            {
                var listing = await pod.GetAsync("/latest/meta-data/iam/security-credentials/");
                return listing.IsSuccessStatusCode && await listing.Content.ReadAsStringAsync() == "new-role";
            },
            TimeSpan.FromSeconds(30), "the new pod never got its role");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/old-role");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var json = JsonDocument.Parse(await pod.GetStringAsync("/latest/meta-data/iam/security-credentials/new-role"));
        var issued = Host.Sts.Calls.Single(c => c.AccessKeyIdIssued == json.RootElement.GetProperty("AccessKeyId").GetString());
        Assert.Equal(KubeObjects.RoleArn("new-role"), issued.RoleArn);
        using var admin = Host.AdminClient();
        // A relist settled it: after the 410, or earlier, when the new pod's ADDED made the IP ambiguous.
        Assert.Matches("iam4kube_relists_total\\{resource=\"pods\",reason=\"(expired|requested)\"\\} [1-9]", await admin.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task SlowListsAtStartKeepItUnreadyWhileARequestParksThenIsAnswered()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("a", "app", KubeObjects.RoleArn("slow-list")));
        Host.Api.Create(KubeObjects.Pod("a", "app-1", "127.0.46.7", "app"));
        Host.Api.Latency = TimeSpan.FromSeconds(2);
        await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(10) });

        using var admin = Host.AdminClient();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("/readyz")).StatusCode);
        using var pod = Host.ClientFrom("127.0.46.7");
        var response = await pod.GetAsync("/latest/meta-data/iam/security-credentials/slow-list");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Host.Api.Latency = TimeSpan.Zero;
        await Host.WaitUntilReadyAsync();
    }

    [Fact]
    public async Task ServerErrorsOnWatchesAreRetriedAndNewPodsAreStillServed()
    {
        Host.Api.Create(KubeObjects.ServiceAccount("a", "app", KubeObjects.RoleArn("watched")));
        await Host.StartAppAsync(o => o with { WaitTimeout = TimeSpan.FromSeconds(1) });
        await Host.WaitUntilReadyAsync();

        Host.Api.FailNext(4, HttpStatusCode.InternalServerError, "watch=");
        Host.Api.DropWatches();
        Host.Api.Create(KubeObjects.Pod("a", "late", "127.0.46.8", "app"));

        using var pod = Host.ClientFrom("127.0.46.8");
        await Eventually.TrueAsync(async () => (await pod.GetAsync("/latest/meta-data/iam/security-credentials/watched")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "the pod created while watches failed was never served");
        using var admin = Host.AdminClient();
        Assert.Matches("iam4kube_watch_errors_total\\{resource=\"pods\"\\} [1-9]", await admin.GetStringAsync("/metrics"));
    }

    // The exact production configuration, with fixed credentials instead of the ambient chain.
    private static AmazonSecurityTokenServiceClient ProductionStsClient(Iam4KubeOptions options) =>
        Iam4KubeServiceCollectionExtensions.CreateStsClient(options, new BasicAWSCredentials("AKIAIAM4KUBETESTING0", "iam4kube-own-secret-key-for-tests-only"));

    private async Task<double> LogicalStsCallsAsync()
    {
        using var admin = Host.AdminClient();
        return StsCallsMetric().Matches(await admin.GetStringAsync("/metrics"))
            .Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex("^iam4kube_sts_calls_total\\{outcome=\"[^\"]+\"\\} (\\S+)$", RegexOptions.Multiline)]
    private static partial Regex StsCallsMetric();
}
