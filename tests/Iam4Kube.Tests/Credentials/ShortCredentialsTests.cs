using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Iam4Kube.Observability;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Credentials;

/// <summary>
/// Credentials with less life than the 15-minute floor (a session STS shortened, a node clock STS disagrees with):
/// served, refreshed on a spaced schedule, and said why; a skewed clock is read against STS's Date header.
/// </summary>
public sealed class ShortCredentialsTests : ClusterBeforeAppTests
{
    private static readonly string Role = KubeObjects.RoleArn("short");
    private const string PodIp = "127.0.22.1";

    private protected override void Arrange(Iam4KubeTestHost host)
    {
        host.Api.Create(KubeObjects.ServiceAccount("a", "short", Role));
        host.Api.Create(KubeObjects.Pod("a", "short-1", PodIp, "short"));
    }

    [Fact]
    public async Task CredentialsShorterThanTheFloorAreServedWithoutAStormOfStsCalls()
    {
        Host.Sts.CredentialLifetime = TimeSpan.FromMinutes(5);
        await Host.StartAppAsync();
        await Host.WaitUntilReadyAsync();

        // Four clients asking as fast as they can for 10 s: every answer is valid credentials, and STS is asked
        // once (the next call is due minutes later), where the old floor made it hundreds of calls and 503s.
        var window = Stopwatch.StartNew();
        var statuses = new List<HttpStatusCode>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = Host.ClientFrom(PodIp);
            while (window.Elapsed < TimeSpan.FromSeconds(10))
            {
                var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/short");
                lock (statuses)
                {
                    statuses.Add(response.StatusCode);
                }
            }
        }));

        Assert.True(statuses.Count > 40, $"only {statuses.Count} requests in 10 s");
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        var calls = Host.Sts.Calls.Count(c => c.RoleArn == Role);
        Assert.InRange(calls, 1, 2);

        // Why, where each audience looks: the pod's Warning Event, the metric, the log.
        await Eventually.TrueAsync(() => Task.FromResult(Host.Api.Events.Any(e => e.Reason == "IamCredentialsShortLived" && e.InvolvedObject.Name == "short-1"
                && e.Type == "Warning" && e.Message.Contains("STS granted less than the 3600 s asked for", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "no IamCredentialsShortLived event on the pod");
        Assert.Equal(calls, Host.Service<Iam4KubeMetrics>().ShortLivedCredentials.Value);
        Assert.Contains("that live only", Host.LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANodeClockFiftyMinutesAheadOfStsIsReadAgainstStsDateAndServesWithoutRefreshing()
    {
        // STS's clock is 50 minutes behind ours: its one-hour credentials expire ten minutes from now on our clock.
        Host.Sts.ClockOffset = TimeSpan.FromMinutes(-50);
        await Host.StartAppAsync();
        await Host.WaitUntilReadyAsync();

        using var client = Host.ClientFrom(PodIp);
        var window = Stopwatch.StartNew();
        while (window.Elapsed < TimeSpan.FromSeconds(3))
        {
            var response = await client.GetAsync("/latest/meta-data/iam/security-credentials/short");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            // The Expiration served is STS's own: SDKs compare it with their clocks, not ours.
            var expiration = DateTimeOffset.Parse(json.RootElement.GetProperty("Expiration").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(expiration - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        }

        Assert.Single(Host.Sts.Calls, c => c.RoleArn == Role);
        var metrics = Host.Service<Iam4KubeMetrics>();
        Assert.InRange(metrics.StsClockSkew.Value, 2990, 3010);
        Assert.Equal(0, metrics.ShortLivedCredentials.Value);
        Assert.Contains("off STS's", Host.LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClockInStepWithStsIsMeasuredAndNotCorrected()
    {
        await Host.StartAppAsync();
        await Host.WaitUntilReadyAsync();
        using var client = Host.ClientFrom(PodIp);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/latest/meta-data/iam/security-credentials/short")).StatusCode);
        Assert.InRange(Host.Service<Iam4KubeMetrics>().StsClockSkew.Value, -5, 5);
        Assert.DoesNotContain("off STS's", Host.LogText, StringComparison.Ordinal);
    }
}
