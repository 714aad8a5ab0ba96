using System.Text.RegularExpressions;
using System.Threading.Channels;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Networking;
using Ip2Service.Iptables;
using Ip2Service.Rules;
using Ip2Service.Sync;
using Ip2Service.Telemetry;
using Ip2Service.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using static Ip2Service.Tests.TestSupport.NodeNetwork;

namespace Ip2Service.Tests.Sync;

/// <summary>
/// The syncer and applier with real iptables and ip6tables (both backends) in a node namespace, real connections
/// from a pod namespace and from the node itself (see <see cref="NodeNetwork"/>): resync repairs what others change
/// while a client keeps connecting, IPv6 pods reach IPv6 endpoints, both families fail closed, and the pod-identity
/// target is caught in OUTPUT too.
/// </summary>
public sealed class RuleSyncerInNetworkNamespacesTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);
    private static readonly InterceptTarget Imds6 = InterceptTarget.DefaultIpv6;

    public static TheoryData<string> Backends => new() { "nft", "legacy" };

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task RepairsAFlushedChainADeletedJumpAndAForeignRuleWhileAClientKeepsConnectingAndNoneReachesTheRealService(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);
        await network.AddForeignRulesAsync(backend);
        var metrics = new Ip2ServiceMetrics(Metrics.NewCustomRegistry());
        var readiness = new Readiness(metrics);
        var desired = Channel.CreateUnbounded<DesiredState>();
        var state = new DesiredState(
            [Rules(InterceptTarget.Default, BackendEndpoint(1)), Rules(Imds6, BackendEndpoint6(1))],
            Synced: true);
        using var syncer = new RuleSyncer(
            [Applier(network, backend, IpFamily.V4), Applier(network, backend, IpFamily.V6)],
            state,
            desired.Reader,
            readiness,
            metrics,
            TimeProvider.System,
            TimeSpan.FromMilliseconds(200),
            NullLogger<RuleSyncer>.Instance);
        await syncer.StartAsync(CancellationToken.None);
        await readiness.WhenReady.WaitAsync(Bound);
        var v4 = ChainNames.For(InterceptTarget.Default);
        var v6 = ChainNames.For(Imds6);
        var written4 = await network.SaveTablesAsync(backend);
        var written6 = await Save6Async(network, backend);

        await using var client4 = await TcpProbe.StartClientLoopAsync(network.Pod.Namespace, MetadataIp, 80);
        await using var client6 = await TcpProbe.StartClientLoopAsync(network.Pod.Namespace, MetadataIp6, 80);
        (string Program, string[] Args, string Reason)[] sabotage =
        [
            ($"iptables-{backend}", ["-t", "nat", "-F", v4], RuleDrift.FlushedChain),
            ($"ip6tables-{backend}", ["-t", "nat", "-F", v6], RuleDrift.FlushedChain),
            ($"iptables-{backend}", ["-t", "nat", "-F", "PREROUTING"], RuleDrift.MissingJump),
            ($"ip6tables-{backend}", ["-t", "nat", "-F", "PREROUTING"], RuleDrift.MissingJump),
            ($"iptables-{backend}", ["-t", "nat", "-I", v4, "1", "-p", "tcp", "-j", "ACCEPT"], RuleDrift.ForeignRule),
            ($"ip6tables-{backend}", ["-t", "nat", "-I", v6, "1", "-p", "tcp", "-j", "ACCEPT"], RuleDrift.ForeignRule),
            ($"iptables-{backend}", ["-t", "filter", "-F", v4], RuleDrift.FlushedChain),
        ];
        var steps = new List<string>();
        string Explain(string line) =>
            $"{line}; sabotage: {string.Join("; ", steps)}; accepted around then: {string.Join("; ", network.AcceptedConnections.Where(a => !a.Contains(" to backend-1", StringComparison.Ordinal) || line.Contains("port " + a.Split(' ')[4], StringComparison.Ordinal)))}";
        foreach (var (program, args, reason) in sabotage)
        {
            var family = program.StartsWith("ip6", StringComparison.Ordinal) ? "ipv6" : "ipv4";
            var before = metrics.RuleRepairs.WithLabels(reason, family).Value;
            // CLOCK_MONOTONIC in ms, the clock of the client's "timeout … at MS" lines.
            steps.Add($"{Environment.TickCount64} {program} {string.Join(' ', args)}");
            await network.Node.RunCheckedAsync(program, args);
            // Repaired within the interval (a bound well above it, for a loaded machine), and both clients get
            // through to the endpoint again afterwards.
            await Eventually.TrueAsync(() => metrics.RuleRepairs.WithLabels(reason, family).Value > before, Bound, $"{program} {string.Join(' ', args)} was not repaired as {reason}");
            await Eventually.TrueAsync(
                async () => family == "ipv4"
                    ? ByChain(written4, "KUBE-SERVICES").SequenceEqual(ByChain(await network.SaveTablesAsync(backend), "KUBE-SERVICES"))
                    : ByChain(written6, "KUBE-SERVICES").SequenceEqual(ByChain(await Save6Async(network, backend))),
                Bound,
                $"the {family} rules were not rewritten as they were");
            await client4.WaitForLineAsync(l => l.StartsWith("ok backend-1", StringComparison.Ordinal), Bound, startAt: client4.LineCount);
            await client6.WaitForLineAsync(l => l.StartsWith("ok backend-1", StringComparison.Ordinal), Bound, startAt: client6.LineCount);
        }

        // Repaired to exactly what was written, foreign rules outside our chains (KUBE-*) untouched except the
        // PREROUTING jump the sabotage itself flushed.
        Assert.Equal(ByChain(written4, "KUBE-SERVICES"), ByChain(await network.SaveTablesAsync(backend), "KUBE-SERVICES"));
        Assert.Equal(ByChain(written6, "KUBE-SERVICES"), ByChain(await Save6Async(network, backend)));
        Assert.Equal(0, network.RealConnections);
        foreach (var (lines, podIp) in new[] { (client4.Lines, PodIp), (client6.Lines, PodIp6) })
        {
            if (lines.Skip(1).FirstOrDefault(l => !Regex.IsMatch(l, $"^(ok backend-1 {podIp}|refused \\d+)$")) is { } wrong)
            {
                Assert.Fail(Explain(wrong));
            }
        }
        await syncer.StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// The kernel hooks connection tracking into a namespace only while some rule of that family needs it, and an
    /// established connection's address translation goes through those hooks. Nothing else on this node writes
    /// NAT or conntrack rules, so without the filter chain's conntrack rule our DNAT would be the last one: when
    /// someone flushes our nat chain, the endpoint's answer on a connection redirected before would leave with the
    /// endpoint's own address and the pod would reset it (what a client loop racing a flush saw with both
    /// backends). No syncer runs here: nothing repairs the flush while the answer is on its way.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task AConnectionRedirectedBeforeOurNatChainIsFlushedStillGetsItsAnswerAndNewOnesFailClosed(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);
        const int HeldPort = BackendPort + 1;
        await using var held4 = await TcpProbe.StartBackendAsync(network.Node, BackendIp(1), HeldPort, "held-backend", held: true);
        await using var held6 = await TcpProbe.StartBackendAsync(network.Node, BackendIp6(1), HeldPort, "held-backend", held: true);
        await Applier(network, backend, IpFamily.V4).ApplyAsync([Rules(InterceptTarget.Default, $"{BackendIp(1)}:{HeldPort}")], CancellationToken.None);
        await Applier(network, backend, IpFamily.V6).ApplyAsync([Rules(Imds6, $"[{BackendIp6(1)}]:{HeldPort}")], CancellationToken.None);
        var trigger = Path.Combine(Path.GetTempPath(), $"ip2service-held-{Guid.NewGuid():N}");
        try
        {
            await using var client4 = await TcpProbe.StartHeldClientAsync(network.Pod.Namespace, MetadataIp, 80, trigger);
            await using var client6 = await TcpProbe.StartHeldClientAsync(network.Pod.Namespace, MetadataIp6, 80, trigger);

            await network.Node.RunCheckedAsync($"iptables-{backend}", ["-t", "nat", "-F", ChainNames.For(InterceptTarget.Default)]);
            await network.Node.RunCheckedAsync($"ip6tables-{backend}", ["-t", "nat", "-F", ChainNames.For(Imds6)]);
            Assert.DoesNotContain("DNAT", await network.SaveAsync(backend, "nat"), StringComparison.Ordinal);
            Assert.DoesNotContain("DNAT", await Save6Async(network, backend), StringComparison.Ordinal);
            await File.WriteAllTextAsync(trigger, "");

            Assert.Equal($"ok held-backend {PodIp}", await client4.WaitForLineAsync(l => l != "connected", Bound));
            Assert.Equal($"ok held-backend {PodIp6}", await client6.WaitForLineAsync(l => l != "connected", Bound));
            // New connections meet the flushed chain: the filter chain's REJECT, never the real service.
            Assert.StartsWith("refused ", Assert.Single(await network.ConnectFromPodAsync(MetadataIp)), StringComparison.Ordinal);
            Assert.StartsWith("refused ", Assert.Single(await network.ConnectFromPodAsync(MetadataIp6)), StringComparison.Ordinal);
            Assert.Equal(0, network.RealConnections);
        }
        finally
        {
            File.Delete(trigger);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Ipv6PodReachesTheIpv6EndpointWhichSeesThePodsOwnSourceAddress(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);
        Assert.Equal([$"ok real-imds6 {PodIp6}"], await network.ConnectFromPodAsync(MetadataIp6));

        await Applier(network, backend, IpFamily.V6).ApplyAsync([Rules(Imds6, BackendEndpoint6(1))], CancellationToken.None);

        Assert.Equal([$"ok backend-1 {PodIp6}"], await network.ConnectFromPodAsync(MetadataIp6));
        // The IPv4 path is another family's rules: untouched.
        Assert.Equal([$"ok real-imds {PodIp}"], await network.ConnectFromPodAsync(MetadataIp));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ZeroEndpointsResetAtOnceOnBothFamilies(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);

        await Applier(network, backend, IpFamily.V4).ApplyAsync([Rules(InterceptTarget.Default)], CancellationToken.None);
        await Applier(network, backend, IpFamily.V6).ApplyAsync([Rules(Imds6)], CancellationToken.None);

        foreach (var address in new[] { MetadataIp, MetadataIp6 })
        {
            var outcome = Assert.Single(await network.ConnectFromPodAsync(address));
            Assert.StartsWith("refused ", outcome, StringComparison.Ordinal);
            Assert.True(int.Parse(outcome["refused ".Length..], System.Globalization.CultureInfo.InvariantCulture) < 500, outcome);
        }
        Assert.Equal(0, network.RealConnections);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ExcludedIpv6SourceKeepsTheRealService(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);

        await Applier(network, backend, IpFamily.V6).ApplyAsync(
            [new TargetRules(Imds6, EndpointSet.ForEndpoints([Endpoint(BackendEndpoint6(1))], [System.Net.IPAddress.Parse(PodIp6)]))],
            CancellationToken.None);

        Assert.Equal([$"ok real-imds6 {PodIp6}"], await network.ConnectFromPodAsync(MetadataIp6));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task PodIdentityTargetIsCaughtFromPodsAndFromTheNodeButTheImdsTargetOnlyFromPods(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);
        Assert.Equal(["ok real-pod-identity"], Names(await network.ConnectFromNodeAsync(PodIdentityIp)));
        var v4 = Applier(network, backend, IpFamily.V4);
        var v6 = Applier(network, backend, IpFamily.V6);

        await v4.ApplyAsync([Rules(InterceptTarget.Default, BackendEndpoint(1)), Rules(InterceptTarget.PodIdentity, BackendEndpoint(1))], CancellationToken.None);
        await v6.ApplyAsync([Rules(Imds6, BackendEndpoint6(1)), Rules(InterceptTarget.PodIdentityIpv6, BackendEndpoint6(1))], CancellationToken.None);

        Assert.Equal([$"ok backend-1 {PodIp}"], await network.ConnectFromPodAsync(PodIdentityIp));
        Assert.Equal([$"ok backend-1 {PodIp6}"], await network.ConnectFromPodAsync(PodIdentityIp6));
        Assert.Equal(["ok backend-1"], Names(await network.ConnectFromNodeAsync(PodIdentityIp)));
        Assert.Equal(["ok backend-1"], Names(await network.ConnectFromNodeAsync(PodIdentityIp6)));
        // The node keeps its real metadata service: the IMDS target is not hooked in OUTPUT.
        Assert.Equal(["ok real-imds"], Names(await network.ConnectFromNodeAsync(MetadataIp)));

        // Fail closed for the node's own connections too.
        await v4.ApplyAsync([Rules(InterceptTarget.Default, BackendEndpoint(1)), Rules(InterceptTarget.PodIdentity)], CancellationToken.None);
        await v6.ApplyAsync([Rules(Imds6, BackendEndpoint6(1)), Rules(InterceptTarget.PodIdentityIpv6)], CancellationToken.None);
        Assert.StartsWith("refused ", Assert.Single(await network.ConnectFromNodeAsync(PodIdentityIp)), StringComparison.Ordinal);
        Assert.StartsWith("refused ", Assert.Single(await network.ConnectFromNodeAsync(PodIdentityIp6)), StringComparison.Ordinal);
        Assert.StartsWith("refused ", Assert.Single(await network.ConnectFromPodAsync(PodIdentityIp)), StringComparison.Ordinal);
        // Only the node's two connections that were meant to reach the real services: the control and IMDS.
        Assert.Equal(2, network.RealConnections);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task CleanRemovesBothFamilies(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1, ipv6: true);
        await Applier(network, backend, IpFamily.V4).ApplyAsync([Rules(InterceptTarget.Default, BackendEndpoint(1))], CancellationToken.None);
        await Applier(network, backend, IpFamily.V6).ApplyAsync([Rules(InterceptTarget.PodIdentityIpv6, BackendEndpoint6(1))], CancellationToken.None);
        Assert.Contains(ChainNames.Prefix, await Save6Async(network, backend), StringComparison.Ordinal);

        await Ip2ServiceBinary.RunCheckedAsync(network.Node, "clean", "--iptables-backend", backend, "--log-format", "text");

        Assert.DoesNotContain(ChainNames.Prefix, await network.SaveTablesAsync(backend), StringComparison.Ordinal);
        Assert.DoesNotContain(ChainNames.Prefix, await Save6Async(network, backend), StringComparison.Ordinal);
        Assert.Equal([$"ok real-imds6 {PodIp6}"], await network.ConnectFromPodAsync(MetadataIp6));
        Assert.Equal([$"ok real-pod-identity6"], Names(await network.ConnectFromNodeAsync(PodIdentityIp6)));
    }

    [Fact]
    public async Task CleanOnNfTablesLeavesNoTableIp2ServiceCreatedInEitherFamily()
    {
        // A fresh namespace has no tables at all: whatever is there after apply, ip2service's writes created.
        await using var node = await FreshNftNamespaceAsync();
        await ApplyNftAsync(node, IpFamily.V4, InterceptTarget.Default, "10.0.0.1:8080");
        await ApplyNftAsync(node, IpFamily.V6, InterceptTarget.DefaultIpv6, "[fd00::1]:8080");
        Assert.Equal(["table ip filter", "table ip nat", "table ip6 filter", "table ip6 nat"], await TablesAsync(node));

        var clean = await Ip2ServiceBinary.RunCheckedAsync(node, "clean", "--iptables-backend", "nft", "--log-format", "text");

        Assert.Empty(await TablesAsync(node));
        Assert.Contains("removed the empty nf_tables tables ip filter, ip nat, ip6 filter, ip6 nat", clean.StandardOutput + clean.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CleanOnNfTablesKeepsAnEmptyTableWhosePolicyIsDrop()
    {
        await using var node = await FreshNftNamespaceAsync();
        await ApplyNftAsync(node, IpFamily.V4, InterceptTarget.Default, "10.0.0.1:8080");
        // An operator's policy in the same table: without rules, but not without effect.
        await node.RunCheckedAsync("iptables-nft", ["-P", "FORWARD", "DROP"]);

        await Ip2ServiceBinary.RunCheckedAsync(node, "clean", "--iptables-backend", "nft", "--log-format", "text");

        Assert.Equal(["table ip filter"], await TablesAsync(node));
        Assert.Contains(":FORWARD DROP", (await node.RunCheckedAsync("iptables-nft-save", ["-t", "filter"])).StandardOutput, StringComparison.Ordinal);
    }

    private static Task<NetworkNamespace> FreshNftNamespaceAsync()
    {
        NetworkPrerequisites.EnsureIptables();
        Assert.True(NetworkPrerequisites.FindExecutable("nft") is not null, "this test needs `nft` (apt-get install nftables; ./test.sh installs it)");
        return NetworkNamespace.CreateAsync("nftclean");
    }

    private static Task ApplyNftAsync(NetworkNamespace node, IpFamily family, InterceptTarget target, string endpoint) =>
        new RuleApplier(new IptablesCli(IptablesBackend.Nft, new ExternalCommand(node.CommandPrefix), family), NullLogger<RuleApplier>.Instance)
            .ApplyAsync([Rules(target, endpoint)], CancellationToken.None);

    private static async Task<List<string>> TablesAsync(NetworkNamespace node) =>
        [.. (await node.RunCheckedAsync("nft", ["list", "tables"])).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal)];

    private static RuleApplier Applier(NodeNetwork network, string backend, IpFamily family) =>
        new(
            new IptablesCli(backend == "nft" ? IptablesBackend.Nft : IptablesBackend.Legacy, new ExternalCommand(network.Node.CommandPrefix), family),
            NullLogger<RuleApplier>.Instance);

    private static TargetRules Rules(InterceptTarget target, params string[] endpoints) =>
        new(target, EndpointSet.ForEndpoints(endpoints.Select(Endpoint), []));

    private static Ip2Service.Rules.BackendEndpoint Endpoint(string text) =>
        Ip2Service.Rules.BackendEndpoint.TryParse(text, out var endpoint) ? endpoint : throw new ArgumentException(text);

    /// <summary>"ok NAME" without the source address (the node's source address depends on its routes).</summary>
    private static List<string> Names(IReadOnlyList<string> outcomes) =>
        [.. outcomes.Select(o => o.StartsWith("ok ", StringComparison.Ordinal) ? string.Join(' ', o.Split(' ').Take(2)) : o)];

    private static async Task<string> Save6Async(NodeNetwork network, string backend)
    {
        var filter = await network.Node.RunCheckedAsync($"ip6tables-{backend}-save", ["-t", "filter"]);
        var nat = await network.Node.RunCheckedAsync($"ip6tables-{backend}-save", ["-t", "nat"]);
        return string.Join('\n', (filter.StandardOutput + nat.StandardOutput).Split('\n')
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\[\d+:\d+\]", "[0:0]")));
    }

    /// <summary>A save's lines, those containing <paramref name="without"/> left out, grouped by table and chain with
    /// each chain's rules in order (a recreated chain may be printed at another place; its rules' order matters).</summary>
    private static List<string> ByChain(string save, string? without = null)
    {
        var table = "";
        var keyed = new List<(string Key, string Line)>();
        foreach (var line in save.Split('\n'))
        {
            if (line.StartsWith('*'))
            {
                table = line;
            }
            if (without is not null && line.Contains(without, StringComparison.Ordinal))
            {
                continue;
            }
            keyed.Add((table + " " + (line.StartsWith("-A ", StringComparison.Ordinal) ? line.Split(' ')[1] : line), line));
        }
        return [.. keyed.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => k.Line)];
    }
}
