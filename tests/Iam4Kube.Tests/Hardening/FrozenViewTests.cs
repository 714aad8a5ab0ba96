using Iam4Kube.Watching;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Tests.TestHost;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iam4Kube.Tests.Hardening;

/// <summary>
/// The API server goes quiet or keeps failing instead of failing loudly, and meanwhile a pod is deleted and its IP
/// handed to a pod of another namespace with another role. Whatever the fault, the IP's new owner never gets the old
/// owner's credentials later than --max-view-age after the change, and gets its own once the fault ends. Bounds are
/// shortened (idle timeout 2 s, max view age 4 s) so each fault plays out in seconds.
/// </summary>
public sealed class FrozenViewTests : IAsyncLifetime
{
    private const string Ip = "127.0.47.1";
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxViewAge = TimeSpan.FromSeconds(4);

    // Scheduling slack for a loaded 2-core machine between the view crossing the bound and a request observing it.
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(750);

    private Iam4KubeTestHost _host = null!;

    public enum Fault
    {
        HalfOpenWatch,
        StalledWatches,
        Expired410OnWatch,
        Expired410OnListAndWatch,
        TooLarge504OnListAndWatch,
        RejectedResourceVersionOnWatch,
        ApiServerDown,
    }

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        // kube-apiserver's heartbeat, shortened like the idle timeout.
        _host.Api.BookmarkInterval = TimeSpan.FromMilliseconds(500);
        _host.Api.Create(KubeObjects.Node("node-1"));
        _host.Api.Create(KubeObjects.ServiceAccount("old", "app", KubeObjects.RoleArn("old-role")));
        _host.Api.Create(KubeObjects.ServiceAccount("new", "app", KubeObjects.RoleArn("new-role")));
        _host.Api.Create(KubeObjects.Pod("old", "app-1", Ip, "app"));
        await _host.StartAppAsync(
            o => o with { WaitTimeout = TimeSpan.FromSeconds(1), WatchIdleTimeout = IdleTimeout, MaxViewAge = MaxViewAge },
            services => services.Replace(ServiceDescriptor.Singleton(new WatchSettings
            {
                IdleTimeout = IdleTimeout,
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromSeconds(1),
            })));
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData(Fault.HalfOpenWatch)]
    [InlineData(Fault.StalledWatches)]
    [InlineData(Fault.Expired410OnWatch)]
    [InlineData(Fault.Expired410OnListAndWatch)]
    [InlineData(Fault.TooLarge504OnListAndWatch)]
    [InlineData(Fault.RejectedResourceVersionOnWatch)]
    [InlineData(Fault.ApiServerDown)]
    public async Task AnIpReusedDuringTheFaultNeverGetsTheOldRoleLaterThanTheBound(Fault fault)
    {
        using var pod = _host.ClientFrom(Ip);
        Assert.Equal("old-role", await pod.GetStringAsync("/latest/meta-data/iam/security-credentials/"));

        await InjectAsync(fault);
        _host.Api.Delete<V1Pod>("old", "app-1");
        _host.Api.Create(KubeObjects.Pod("new", "app-1", Ip, "app"));
        var changed = Stopwatch.StartNew();

        // While the fault lasts: the old role until the bound at most, then 503 or (once a relist got through) the new role.
        // Judged by when the credentials request was sent: iam4kube decides as the request arrives, and the time the
        // answer then takes to reach the test (a busy machine, a GC pause) says nothing about the view it came from.
        var answers = new Dictionary<string, int>();
        while (changed.Elapsed < MaxViewAge + IdleTimeout + TimeSpan.FromSeconds(2))
        {
            var (answer, sent) = await AskAsync(pod, changed);
            answers[answer] = answers.GetValueOrDefault(answer) + 1;
            Assert.False(answer == "old-role" && sent > MaxViewAge + Slack,
                $"{fault}: the old owner's role was served to a request sent {sent.TotalSeconds:F1}s after its IP changed hands (bound {MaxViewAge.TotalSeconds}s)");
        }

        Assert.True(answers.ContainsKey("503") || answers.ContainsKey("new-role"), $"{fault}: answers were {Describe(answers)}");

        // After the fault: the new owner's own role, promptly.
        Heal();
        var healed = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => (await AskAsync(pod, healed)).Answer == "new-role", TimeSpan.FromSeconds(10), $"{fault}: the new pod never got its role");
        Assert.True(healed.Elapsed < RecoveryBound(fault), $"{fault}: the new role took {healed.Elapsed.TotalSeconds:F1}s after the fault ended");
        using var admin = _host.AdminClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task PastTheMaxViewAgeTheReplicaIsUnreadyAndRefusesWith503ThenRecovers()
    {
        using var pod = _host.ClientFrom(Ip);
        using var admin = _host.AdminClient();
        _host.Api.StallWatches = true;
        _host.Api.ListFault = ApiFault.Expired;

        await Eventually.TrueAsync(async () => (await admin.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable,
            MaxViewAge + IdleTimeout + TimeSpan.FromSeconds(3), "never unready with a frozen view");
        var refused = await pod.GetAsync("/latest/meta-data/iam/security-credentials/old-role");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        Assert.Contains("view of", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Matches("iam4kube_request_outcomes_total\\{outcome=\"view_too_old\"\\} [1-9]", metrics);
        Assert.Matches("iam4kube_cluster_view_age_seconds\\{resource=\"pods\"\\} ([4-9]|\\d\\d)", metrics);
        Assert.Matches("iam4kube_watch_idle_restarts_total\\{resource=\"pods\"\\} [1-9]", metrics);
        Assert.Contains("more than --max-view-age", _host.LogText, StringComparison.Ordinal);

        _host.Api.StallWatches = false;
        _host.Api.ListFault = null;
        await Eventually.TrueAsync(async () => (await admin.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(5), "never ready again");
        Assert.Equal("old-role", await pod.GetStringAsync("/latest/meta-data/iam/security-credentials/"));
    }

    [Fact]
    public async Task AHealthyQuietClusterStaysReadyWellPastTheMaxViewAge()
    {
        // No change at all: only BOOKMARKs (and watches the server ends at timeoutSeconds) prove the view is fresh.
        using var admin = _host.AdminClient();
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < MaxViewAge * 2)
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/readyz")).StatusCode);
            await Task.Delay(100);
        }

        Assert.DoesNotMatch("iam4kube_watch_idle_restarts_total\\{resource=\"pods\"\\} [1-9]", await admin.GetStringAsync("/metrics"));
    }

    private async Task InjectAsync(Fault fault)
    {
        switch (fault)
        {
            case Fault.HalfOpenWatch:
                // Ready means listed: a kind's watch may connect a moment later, and only a connected watch is silenced.
                await Eventually.TrueAsync(
                    () => new[] { "pods", "serviceaccounts", "nodes" }.All(kind => _host.Api.ActiveWatchCount(kind) >= 1),
                    TimeSpan.FromSeconds(10), "the watches never connected");
                Assert.True(_host.Api.SilenceWatches() >= 3);
                break;
            case Fault.StalledWatches:
                _host.Api.StallWatches = true;
                break;
            case Fault.Expired410OnWatch:
                _host.Api.WatchFault = ApiFault.Expired;
                _host.Api.DropWatches();
                break;
            case Fault.Expired410OnListAndWatch:
                _host.Api.WatchFault = ApiFault.Expired;
                _host.Api.ListFault = ApiFault.Expired;
                _host.Api.DropWatches();
                break;
            case Fault.TooLarge504OnListAndWatch:
                _host.Api.WatchFault = ApiFault.ResourceVersionTooLarge;
                _host.Api.ListFault = ApiFault.ResourceVersionTooLarge;
                _host.Api.DropWatches();
                break;
            case Fault.RejectedResourceVersionOnWatch:
                _host.Api.WatchFault = ApiFault.InvalidResourceVersion;
                _host.Api.DropWatches();
                break;
            case Fault.ApiServerDown:
                // Every request answered 503 (open watches are dropped): an API server that is down.
                _host.Api.Unavailable = true;
                break;
        }
    }

    private void Heal()
    {
        _host.Api.StallWatches = false;
        _host.Api.WatchFault = null;
        _host.Api.ListFault = null;
        _host.Api.Unavailable = false;
    }

    /// <summary>An outage ends within the outage retry (1 s); a fault the server answered may have to wait out the
    /// backoff (1 s in these tests) or a stuck watch's idle timeout.</summary>
    private static TimeSpan RecoveryBound(Fault fault) => fault switch
    {
        Fault.ApiServerDown => TimeSpan.FromSeconds(2) + Slack,
        _ => IdleTimeout + TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(2) + Slack,
    };

    /// <summary>
    /// The role whose credentials came back, or the status code; and when (on <paramref name="clock"/>) the request
    /// that decided it was sent.
    /// </summary>
    private async Task<(string Answer, TimeSpan Sent)> AskAsync(HttpClient pod, Stopwatch clock)
    {
        var sent = clock.Elapsed;
        using var listing = await pod.GetAsync("/latest/meta-data/iam/security-credentials/");
        if (!listing.IsSuccessStatusCode)
        {
            return (((int)listing.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), sent);
        }

        var role = await listing.Content.ReadAsStringAsync();
        sent = clock.Elapsed;
        using var credentials = await pod.GetAsync($"/latest/meta-data/iam/security-credentials/{role}");
        if (!credentials.IsSuccessStatusCode)
        {
            return (((int)credentials.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), sent);
        }

        // What matters is whose credentials these are: the role STS issued them for.
        using var json = JsonDocument.Parse(await credentials.Content.ReadAsStringAsync());
        var keyId = json.RootElement.GetProperty("AccessKeyId").GetString();
        var issued = _host.Sts.Calls.Single(c => c.AccessKeyIdIssued == keyId);
        return (issued.RoleArn == KubeObjects.RoleArn("old-role") ? "old-role" : "new-role", sent);
    }

    private static string Describe(Dictionary<string, int> answers) => string.Join(", ", answers.Select(a => $"{a.Key}×{a.Value}"));
}
