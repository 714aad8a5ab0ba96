using Ip2Service.Rules;
using Ip2Service.Tests.TestSupport;
using static Ip2Service.Tests.TestSupport.NodeNetwork;

namespace Ip2Service.Tests.Iptables;

/// <summary>
/// The rules, applied by the real ip2service program with real iptables (both backends) in a node namespace, with
/// real connections from a pod namespace. See <see cref="NodeNetwork"/> for the wiring.
/// </summary>
public sealed class RulesInNetworkNamespacesTests
{
    public static TheoryData<string> Backends => new() { "nft", "legacy" };

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task PodReachesTheRealMetadataServiceWithoutIp2Service(string backend)
    {
        // The control experiment: what every other test changes is the rules, not the wiring.
        await using var network = await NodeNetwork.CreateAsync(backends: 1);
        await network.AddForeignRulesAsync(backend);

        Assert.Equal([$"ok real-imds {PodIp}"], await network.ConnectFromPodAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task PodReachesTheEndpointWhichSeesThePodsOwnSourceIp(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1);
        await network.AddForeignRulesAsync(backend);

        await Apply(network, backend, BackendEndpoint(1));

        Assert.Equal([$"ok backend-1 {PodIp}"], await network.ConnectFromPodAsync());
        Assert.DoesNotContain(network.RealImds.Lines, line => line.StartsWith("connection", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task PodReachesAnEndpointBehindTheNodeThroughForwarding(string backend)
    {
        // Most endpoints are iam4kube pods on other nodes: DNATed traffic is forwarded, and replies come back
        // through the node, which undoes the DNAT, so the pod sees 169.254.169.254 answer.
        await using var network = await NodeNetwork.CreateAsync(backends: 0, remoteBackend: true);

        await Apply(network, backend, $"{RemoteBackendIp}:{BackendPort}");

        Assert.Equal([$"ok remote-backend {PodIp}"], await network.ConnectFromPodAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task TwoEndpointsBothGetConnections(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 2);

        await Apply(network, backend, $"{BackendEndpoint(1)},{BackendEndpoint(2)}");

        // Each connection picks an endpoint with probability 1/2: 40 connections all to one is a 2^-39 event.
        var outcomes = await network.ConnectFromPodAsync(count: 40);
        Assert.All(outcomes, o => Assert.Matches($"^ok backend-[12] {PodIp}$", o));
        Assert.Contains($"ok backend-1 {PodIp}", outcomes);
        Assert.Contains($"ok backend-2 {PodIp}", outcomes);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ZeroEndpointsRefuseTheConnectionAtOnce(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1);

        await Apply(network, backend, "");

        var outcome = Assert.Single(await network.ConnectFromPodAsync());
        // Refused (a TCP reset) within milliseconds as the client measures it, not a timeout, and never through to
        // the real service.
        Assert.StartsWith("refused ", outcome, StringComparison.Ordinal);
        Assert.True(int.Parse(outcome["refused ".Length..], System.Globalization.CultureInfo.InvariantCulture) < 500, outcome);
        Assert.DoesNotContain(network.RealImds.Lines, line => line.StartsWith("connection", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ExcludedSourceKeepsTheRealMetadataService(string backend)
    {
        // As iam4kube's own pods do (their IPs are the endpoints'); here the pod is excluded with --exclude-ip.
        await using var network = await NodeNetwork.CreateAsync(backends: 1);

        await Apply(network, backend, BackendEndpoint(1), "--exclude-ip", PodIp);
        Assert.Equal([$"ok real-imds {PodIp}"], await network.ConnectFromPodAsync());

        await Apply(network, backend, "", "--exclude-ip", PodIp);
        Assert.Equal([$"ok real-imds {PodIp}"], await network.ConnectFromPodAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ApplyingTheSameSetTwiceChangesNothing(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 0);
        await network.AddForeignRulesAsync(backend);

        await Apply(network, backend, $"{BackendEndpoint(1)},{BackendEndpoint(2)}");
        var first = await network.SaveTablesAsync(backend);
        await Apply(network, backend, $"{BackendEndpoint(2)},{BackendEndpoint(1)}");
        var second = await network.SaveTablesAsync(backend);

        Assert.Equal(first, second);
        var jump = $"-j {ChainNames.For(InterceptTarget.Default)}";
        Assert.Single(first.Split('\n'), l => l.StartsWith("-A PREROUTING", StringComparison.Ordinal) && l.EndsWith(jump, StringComparison.Ordinal));
        Assert.Single(first.Split('\n'), l => l.StartsWith("-A INPUT", StringComparison.Ordinal) && l.EndsWith(jump, StringComparison.Ordinal));
        Assert.Single(first.Split('\n'), l => l.StartsWith("-A FORWARD", StringComparison.Ordinal) && l.EndsWith(jump, StringComparison.Ordinal));
        // Inserted first, ahead of the rules already there.
        Assert.EndsWith(jump, first.Split('\n').First(l => l.StartsWith("-A PREROUTING", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task DuplicateJumpsAreCollapsedToOne(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1);
        await Apply(network, backend, BackendEndpoint(1));
        var chain = ChainNames.For(InterceptTarget.Default);
        await network.Node.RunCheckedAsync($"iptables-{backend}", ["-t", "nat", "-A", "PREROUTING", "-j", chain]);

        await Apply(network, backend, BackendEndpoint(1));

        var nat = await network.SaveAsync(backend, "nat");
        Assert.Single(nat.Split('\n'), l => l.StartsWith("-A PREROUTING", StringComparison.Ordinal) && l.EndsWith("-j " + chain, StringComparison.Ordinal));
        Assert.Equal([$"ok backend-1 {PodIp}"], await network.ConnectFromPodAsync());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task CleanLeavesTheTablesAsTheyWere(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 2);
        await network.AddForeignRulesAsync(backend);
        var before = await network.SaveTablesAsync(backend);

        await Apply(network, backend, $"{BackendEndpoint(1)},{BackendEndpoint(2)}");
        await Apply(network, backend, BackendEndpoint(1), "--intercept-port", "8081");
        Assert.NotEqual(before, await network.SaveTablesAsync(backend));
        await Ip2ServiceBinary.RunCheckedAsync(network.Node, "clean", "--iptables-backend", backend, "--log-format", "text");

        Assert.Equal(before, await network.SaveTablesAsync(backend));
        Assert.Equal([$"ok real-imds {PodIp}"], await network.ConnectFromPodAsync());
    }

    [Fact]
    public async Task AutoBackendWritesWhereTheNodesRulesAre()
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1);
        await network.AddForeignRulesAsync("legacy");

        await Apply(network, "auto", BackendEndpoint(1));

        var chain = ChainNames.For(InterceptTarget.Default);
        Assert.Contains(chain, await network.SaveAsync("legacy", "nat"), StringComparison.Ordinal);
        Assert.DoesNotContain(chain, await network.SaveAsync("nft", "nat"), StringComparison.Ordinal);
        Assert.Equal([$"ok backend-1 {PodIp}"], await network.ConnectFromPodAsync());

        // clean with auto finds them there.
        await Ip2ServiceBinary.RunCheckedAsync(network.Node, "clean", "--log-format", "text");
        Assert.DoesNotContain(chain, await network.SaveAsync("legacy", "nat"), StringComparison.Ordinal);
    }

    private static Task<Iam4Kube.Testing.Networking.ProcessResult> Apply(NodeNetwork network, string backend, string endpoints, params string[] extra) =>
        Ip2ServiceBinary.RunCheckedAsync(
            network.Node,
            ["apply", "--endpoints", endpoints, "--iptables-backend", backend, "--log-format", "text", .. extra]);
}
