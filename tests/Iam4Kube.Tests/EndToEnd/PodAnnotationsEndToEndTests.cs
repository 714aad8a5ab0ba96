using System.Net;
using Iam4Kube.Credentials;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Sdk;
using Iam4Kube.Tests.TestHost;
using k8s.Models;

namespace Iam4Kube.Tests.EndToEnd;

/// <summary>
/// Compatibility mode end to end: iam4kube with --pod-annotations, --base-role-arn, --default-role and
/// --namespace-restrictions against the fake API server, pods carrying kube2iam-style annotations.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class PodAnnotationsEndToEndTests : ClusterBeforeAppTests
{
    private const string CredentialsPath = "/latest/meta-data/iam/security-credentials/";
    private static readonly string Fallback = KubeObjects.RoleArn("fallback");

    private Task StartAsync() => Host.StartAppAsync(o => o with
    {
        PodAnnotations = true,
        BaseRoleArn = "arn:aws:iam::123456789012:role",
        DefaultRole = "fallback",
        NamespaceRestrictions = true,
        WaitTimeout = TimeSpan.FromSeconds(5),
    });

    [Fact]
    public async Task BotocoreInAPodWithAKube2IamStyleRoleNameGetsThatRole()
    {
        SdkClients.EnsureInstalled();
        NetworkPrerequisites.EnsureNetworkNamespaces();
        var ip = IPAddress.Parse($"10.78.{Environment.ProcessId % 200}.2");
        Host.Api.Create(KubeObjects.Namespace("shop", permitted: ".*"));
        Host.Api.Create(KubeObjects.ServiceAccount("shop", "default"));
        Host.Api.Create(KubeObjects.Pod("shop", "checkout-7d9f", ip.ToString()).WithRoleAnnotation("checkout", "ext-42"));
        await StartAsync();
        await Host.WaitUntilReadyAsync();
        await using var pod = await PodNetwork.CreateAsync(ip);
        using var home = new TemporaryDirectory();

        var result = await SdkClients.RunBotocoreAsync(pod, $"http://{pod.GatewayIp}:{Host.MetadataEndpoint.Port}/", home.Path);

        SdkClients.AssertIssuedFor(Host.Sts, result, "checkout", "shop@default");
        Assert.Contains(Host.Sts.Calls, c => c.RoleArn == KubeObjects.RoleArn("checkout") && c.ExternalId == "ext-42");
    }

    [Fact]
    public async Task TheDefaultRoleIsServedWhereTheNamespacePermitsItAndRefusedWithoutAnStsCallWhereItDoesNot()
    {
        Host.Api.Create(KubeObjects.Namespace("team-open", permitted: "fallback"));
        Host.Api.Create(KubeObjects.Namespace("team-locked", allowedRoles: """["reader"]"""));
        foreach (var (ns, ip) in new[] { ("team-open", "127.0.63.1"), ("team-locked", "127.0.63.2") })
        {
            Host.Api.Create(KubeObjects.ServiceAccount(ns, "app"));
            Host.Api.Create(KubeObjects.Pod(ns, "web", ip, "app"));
        }

        await StartAsync();
        await Host.WaitUntilReadyAsync();
        using var open = Host.ClientFrom("127.0.63.1");
        using var locked = Host.ClientFrom("127.0.63.2");

        var served = await open.GetAsync(CredentialsPath + "fallback");
        var refused = await locked.GetAsync(CredentialsPath);

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Contains($"role {Fallback} is not permitted in namespace team-locked by iam.amazonaws.com/allowed-roles", await refused.Content.ReadAsStringAsync());
        await Eventually.TrueAsync(
            () => Host.Api.Events.Any(e => e is { Reason: "IamRoleForbidden", Type: "Warning" } && e.InvolvedObject.NamespaceProperty == "team-locked"),
            TimeSpan.FromSeconds(10), "no IamRoleForbidden Event on the pod refused the default role");
        Assert.Equal(["team-open@app"], Host.Sts.Calls.Select(c => c.RoleSessionName).Distinct());
    }

    [Fact]
    public async Task TwoPodsOfOneServiceAccountNamingOneRoleShareOneAssumeRoleUntilTheLastGoes()
    {
        Host.Api.Create(KubeObjects.Namespace("shop", permitted: ".*"));
        Host.Api.Create(KubeObjects.ServiceAccount("shop", "app"));
        Host.Api.Create(KubeObjects.Pod("shop", "cart-1", "127.0.63.11", "app").WithRoleAnnotation("cart"));
        Host.Api.Create(KubeObjects.Pod("shop", "cart-2", "127.0.63.12", "app").WithRoleAnnotation("arn:aws:iam::123456789012:role/cart"));
        await StartAsync();
        await Host.WaitUntilReadyAsync();

        // Prefetched before any pod asked: one AssumeRole for both.
        await Eventually.TrueAsync(() => Host.Sts.Calls.Count == 1, TimeSpan.FromSeconds(10), "the pods' role was not prefetched");
        foreach (var ip in new[] { "127.0.63.11", "127.0.63.12" })
        {
            using var client = Host.ClientFrom(ip);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(CredentialsPath + "cart")).StatusCode);
        }

        var call = Assert.Single(Host.Sts.Calls);
        Assert.Equal((KubeObjects.RoleArn("cart"), "shop@app"), (call.RoleArn, call.RoleSessionName));

        Host.Api.Delete<V1Pod>("shop", "cart-1");
        await Eventually.TrueAsync(() => Host.Service<Stores.PodIndex>().Count == 1, TimeSpan.FromSeconds(10), "cart-1 is still in the index");
        Assert.Equal(1, Host.Service<CredentialStore>().Count);
        Host.Api.Delete<V1Pod>("shop", "cart-2");
        await Eventually.TrueAsync(() => Host.Service<CredentialStore>().Count == 0, TimeSpan.FromSeconds(10), "the role was kept after its last pod went");
    }

    [Fact]
    public async Task ChangingAPodsAnnotationReDecidesItsRole()
    {
        Host.Api.Create(KubeObjects.Namespace("shop", permitted: "cart"));
        Host.Api.Create(KubeObjects.ServiceAccount("shop", "app"));
        Host.Api.Create(KubeObjects.Pod("shop", "web", "127.0.63.21", "app").WithRoleAnnotation("bad name"));
        await StartAsync();
        await Host.WaitUntilReadyAsync();
        using var client = Host.ClientFrom("127.0.63.21");
        var invalid = await client.GetAsync(CredentialsPath);
        Assert.Equal(HttpStatusCode.NotFound, invalid.StatusCode);
        Assert.Contains("pod shop/web: annotation iam.amazonaws.com/role: 'bad name'", await invalid.Content.ReadAsStringAsync());

        var pod = Host.Api.Get<V1Pod>("shop", "web")!;
        Host.Api.Update(pod.WithRoleAnnotation("cart"));

        await Eventually.TrueAsync(async () => (await client.GetAsync(CredentialsPath + "cart")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10), "the pod's new annotation was never served");
    }

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("iam4kube-compat-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
