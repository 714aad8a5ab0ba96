using System.Net;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Tests.EndToEnd;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Metadata;

/// <summary>
/// IMDSv2 tokens of a dual-stack pod through real HTTP: iam4kube listens on [::] (one dual-stack socket) and the pod
/// calls from its IPv4 address (127.0.70.1, arriving as ::ffff:127.0.70.1) and from its real IPv6 source address
/// (<see cref="LocalIpv6Addresses"/>). A token is bound to the address it was issued to, not to the pod: a token
/// copied to the other family's address is refused, as from any other address.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class DualStackTokenTests : IAsyncLifetime
{
    private const string Ipv4 = "127.0.70.1";
    private const string CredentialsPath = "/latest/meta-data/iam/security-credentials/app-role";
    private Iam4KubeTestHost _host = null!;
    private LocalIpv6Addresses _v6 = null!;
    private string _ipv6 = null!;

    public async Task InitializeAsync()
    {
        _v6 = await LocalIpv6Addresses.CreateAsync(1);
        _ipv6 = _v6.Addresses[0].ToString();
        _host = await Iam4KubeTestHost.StartAsync(startApp: false);
        _host.Api.Create(KubeObjects.Node("node-1"));
        _host.Api.Create(KubeObjects.ServiceAccount("team", "app", KubeObjects.RoleArn("app-role")));
        var pod = KubeObjects.Pod("team", "app-1", Ipv4, "app");
        pod.Status.PodIPs = [new() { Ip = Ipv4 }, new() { Ip = _ipv6 }];
        _host.Api.Create(pod);
        await _host.StartAppAsync(o => o with { Listen = new IPEndPoint(IPAddress.IPv6Any, 0) });
        await _host.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _v6.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATokenIssuedToOneAddressOfADualStackPodIsRefusedFromItsOtherAddress(bool issuedToIpv6)
    {
        var (issuedTo, otherAddress) = issuedToIpv6 ? (_ipv6, Ipv4) : (Ipv4, _ipv6);
        using var owner = _host.ClientFrom(issuedTo);
        using var other = _host.ClientFrom(otherAddress);
        var token = await PutTokenAsync(owner);

        // The same pod from either address, each with its own token: served (so the refusal below is the binding,
        // not an unknown caller).
        Assert.Equal(HttpStatusCode.OK, await GetAsync(owner, token));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(other, await PutTokenAsync(other)));

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(other, token));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(other, token, "/latest/meta-data/iam/security-credentials/"));
    }

    private static async Task<string> PutTokenAsync(HttpClient client)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, "/latest/api/token");
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
        var response = await client.SendAsync(put);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<HttpStatusCode> GetAsync(HttpClient client, string token, string path = CredentialsPath)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, path);
        get.Headers.Add("X-aws-ec2-metadata-token", token);
        return (await client.SendAsync(get)).StatusCode;
    }
}
