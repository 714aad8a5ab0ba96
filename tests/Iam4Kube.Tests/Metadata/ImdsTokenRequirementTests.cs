using System.Net;
using Iam4Kube.Metadata;
using Iam4Kube.Observability;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Metadata;

/// <summary>IMDSv2-required mode (EC2's HttpTokens=required), cluster-wide or per ServiceAccount.</summary>
public sealed class ImdsTokenRequirementTests : ClusterBeforeAppTests
{
    private const string Credentials = "/latest/meta-data/iam/security-credentials/";

    private protected override void Arrange(Iam4KubeTestHost host)
    {
        host.Api.Create(KubeObjects.ServiceAccount("a", "open", KubeObjects.RoleArn("open")));
        host.Api.Create(KubeObjects.Pod("a", "open-1", "127.0.23.1", "open"));
        foreach (var (name, value, ip) in new[] { ("strict", "required", "127.0.23.2"), ("typo", "requried", "127.0.23.3"), ("loose", "optional", "127.0.23.4") })
        {
            var account = KubeObjects.ServiceAccount("a", name, KubeObjects.RoleArn(name));
            account.Metadata.Annotations[ImdsTokenRequirement.AnnotationKey] = value;
            host.Api.Create(account);
            host.Api.Create(KubeObjects.Pod("a", name + "-1", ip, name));
        }
    }

    [Fact]
    public async Task ByDefaultOnlyServiceAccountsThatAskRefuseTokenlessRequestsAndATypoFailsClosed()
    {
        await Host.StartAppAsync();
        await Host.WaitUntilReadyAsync();

        Assert.Equal(HttpStatusCode.OK, await GetAsync("127.0.23.1", Credentials + "open", token: false));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("127.0.23.4", Credentials + "loose", token: false));
        foreach (var (ip, role) in new[] { ("127.0.23.2", "strict"), ("127.0.23.3", "typo") })
        {
            using var client = Host.ClientFrom(ip);
            foreach (var path in new[] { Credentials, Credentials + role, "/latest/meta-data/iam/info", "/latest/meta-data/placement/region" })
            {
                var refused = await client.GetAsync(path);
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
                Assert.Contains("PUT /latest/api/token first", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            Assert.Equal(HttpStatusCode.OK, await GetAsync(ip, Credentials + role, token: true));
        }

        Assert.Equal(8, Host.Service<Iam4KubeMetrics>().Outcomes.WithLabels("token_required").Value);
        await Eventually.TrueAsync(() => Task.FromResult(Host.Api.Events.Any(e => e.Reason == "IamImdsTokenRequired" && e.InvolvedObject.Name == "typo-1"
                && e.Message.Contains("'requried', which is neither required nor optional", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), "no IamImdsTokenRequired event naming the typo");
    }

    [Fact]
    public async Task ClusterWideEveryTokenlessRequestGets401AtOnceAndTokensStillWork()
    {
        await Host.StartAppAsync(o => o with { RequireImdsTokens = true });
        await Host.WaitUntilReadyAsync();

        // At once, without waiting for a pod: even an IP nobody owns gets 401, not a parked 404.
        using var stranger = Host.ClientFrom("127.0.23.99");
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync(Credentials)).StatusCode);
        Assert.True(started.Elapsed < Host.Options.WaitTimeout, $"answered after {started.Elapsed}");

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("127.0.23.1", Credentials + "open", token: false));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync("127.0.23.4", Credentials + "loose", token: false));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("127.0.23.1", Credentials + "open", token: true));
        Assert.Equal(HttpStatusCode.OK, await GetAsync("127.0.23.4", Credentials + "loose", token: true));
        Assert.Equal(3, Host.Service<Iam4KubeMetrics>().Outcomes.WithLabels("token_required").Value);
    }

    private async Task<HttpStatusCode> GetAsync(string ip, string path, bool token)
    {
        using var client = Host.ClientFrom(ip);
        using var get = new HttpRequestMessage(HttpMethod.Get, path);
        if (token)
        {
            using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
            put.Headers.Add(MetadataApi.TokenTtlHeader, "60");
            var issued = await client.SendAsync(put);
            issued.EnsureSuccessStatusCode();
            get.Headers.Add(MetadataApi.TokenHeader, await issued.Content.ReadAsStringAsync());
        }

        return (await client.SendAsync(get)).StatusCode;
    }
}
