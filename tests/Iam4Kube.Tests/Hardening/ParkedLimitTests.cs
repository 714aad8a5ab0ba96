using System.Net;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing;
using Iam4Kube.Tests.TestHost;
using Iam4Kube.Waiting;

namespace Iam4Kube.Tests.Hardening;

/// <summary>A flood of requests from IPs no pod owns yet cannot park without bound: beyond --max-parked, 503 at once.</summary>
public sealed class ParkedLimitTests : IAsyncLifetime
{
    private Iam4KubeTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Node("node-1"));
        _host.Api.Create(KubeObjects.ServiceAccount("a", "app", KubeObjects.RoleArn("parked-role")));
        await _host.StartAppAsync(o => o with { MaxParkedRequests = 3, WaitTimeout = TimeSpan.FromSeconds(4) });
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task RequestsBeyondMaxParkedGet503AtOnceWhileTheParkedOnesStillFinish()
    {
        var clients = Enumerable.Range(1, 3).Select(i => _host.ClientFrom($"127.0.48.{i}")).ToList();
        var parked = clients.Select(c => c.GetAsync("/latest/meta-data/iam/security-credentials/parked-role")).ToList();
        var budget = _host.Service<ParkedRequestBudget>();
        await Eventually.TrueAsync(() => budget.Parked == 3, TimeSpan.FromSeconds(5), "three requests never parked");

        // The excess is refused at once, with Retry-After, from any IP, for any identity-dependent path.
        foreach (var path in new[] { "/latest/meta-data/iam/security-credentials/", "/latest/meta-data/placement/region" })
        {
            using var excess = _host.ClientFrom("127.0.48.9");
            var started = DateTimeOffset.UtcNow;
            var refused = await excess.GetAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(2), "the excess request was parked anyway");
        }

        // Token requests never park, so they are not refused either.
        using var token = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
        token.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
        using var tokenClient = _host.ClientFrom("127.0.48.10");
        Assert.Equal(HttpStatusCode.OK, (await tokenClient.SendAsync(token)).StatusCode);

        // The parked ones finish: the one whose pod appears gets its credentials, the others 404 at their timeout.
        _host.Api.Create(KubeObjects.Pod("a", "app-1", "127.0.48.1", "app"));
        Assert.Equal(HttpStatusCode.OK, (await parked[0]).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await parked[1]).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await parked[2]).StatusCode);
        Assert.Equal(0, budget.Parked);

        using var admin = _host.AdminClient();
        Assert.Contains("iam4kube_request_outcomes_total{outcome=\"parked_limit\"} 2", await admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
        clients.ForEach(c => c.Dispose());
    }
}
