using System.Net;
using System.Text.RegularExpressions;
using Iam4Kube.Testing.Networking;

namespace Ip2Service.Tests.TestSupport;

/// <summary>
/// A node in network namespaces, built for one test and removed after it:
/// <code>
///   pod (10.77.0.2) ──veth──▶ node ──veth──▶ imds (169.254.169.254:80, "the real metadata service")
///                              │ ip2service's rules; backends "backend-N" on 10.77.1.N:8080 (local addresses)
///                              └──veth──▶ remote (10.77.3.3:8080, "remote-backend": an iam4kube pod elsewhere)
/// </code>
/// The pod's default route goes to the node, which routes 169.254.169.254 on to the imds namespace: without
/// ip2service, the pod reaches the "real" metadata service, as on an EC2 instance. The imds namespace also holds
/// the "real" EKS Pod Identity agent (169.254.170.23:80, "real-pod-identity"), which the node itself reaches too.
/// With <c>ipv6</c>, the same again in IPv6: pod fd77::2, real IMDS [fd00:ec2::254]:80 ("real-imds6"), real pod
/// identity [fd00:ec2::23]:80 ("real-pod-identity6"), backends "backend-N" on [fd77:1::N]:8080.
/// </summary>
internal sealed partial class NodeNetwork : IAsyncDisposable
{
    public const string PodIp = "10.77.0.2";
    public const string MetadataIp = "169.254.169.254";
    public const int BackendPort = 8080;
    public const string RemoteBackendIp = "10.77.3.3";
    public const string PodIdentityIp = "169.254.170.23";
    public const string PodIp6 = "fd77::2";
    public const string MetadataIp6 = "fd00:ec2::254";
    public const string PodIdentityIp6 = "fd00:ec2::23";
    private const string ImdsIp6 = "fd77:2::2";

    private readonly List<BackgroundProcess> _processes = [];
    private readonly List<IAsyncDisposable> _namespaces = [];

    private NodeNetwork(NetworkNamespace node)
    {
        Node = node;
    }

    public NetworkNamespace Node { get; }

    public PodNetwork Pod { get; private set; } = null!;

    public PodNetwork Imds { get; private set; } = null!;

    public BackgroundProcess RealImds { get; private set; } = null!;

    /// <summary>A backend behind the node (reached by forwarding, as an endpoint on another node is), when asked for.</summary>
    public PodNetwork? Remote { get; private set; }

    public static string BackendIp(int number) => $"10.77.1.{number}";

    public static string BackendEndpoint(int number) => $"{BackendIp(number)}:{BackendPort}";

    public static string BackendIp6(int number) => $"fd77:1::{number}";

    public static string BackendEndpoint6(int number) => $"[{BackendIp6(number)}]:{BackendPort}";

    /// <summary>The "real" metadata service's connection log lines (it prints one per connection accepted), over
    /// every family and both the IMDS and pod-identity stand-ins.</summary>
    /// <summary>Every connection any server here (real services and backends) accepted, as "connection from IP port
    /// PORT at MS to NAME": what a failing namespace test prints to say where a connection went.</summary>
    public IEnumerable<string> AcceptedConnections =>
        _processes.Concat(_real).Distinct().SelectMany(p => p.Lines.Where(line => line.StartsWith("connection", StringComparison.Ordinal)));

    public int RealConnections => _real.Sum(p => p.Lines.Count(line => line.StartsWith("connection", StringComparison.Ordinal)));

    private readonly List<BackgroundProcess> _real = [];

    public static async Task<NodeNetwork> CreateAsync(int backends, bool remoteBackend = false, bool ipv6 = false)
    {
        NetworkPrerequisites.EnsureIptables();
        var node = await NetworkNamespace.CreateAsync("node");
        var network = new NodeNetwork(node);
        network._namespaces.Add(node);
        try
        {
            await node.EnableIpForwardingAsync();
            network.Pod = await PodNetwork.CreateAsync(IPAddress.Parse(PodIp), host: node, purpose: "pod");
            network._namespaces.Add(network.Pod);
            network.Imds = await PodNetwork.CreateAsync(IPAddress.Parse("10.77.2.2"), host: node, purpose: "imds");
            network._namespaces.Add(network.Imds);
            await network.Imds.Namespace.AddLocalAddressAsync(MetadataIp);
            await node.AddRouteAsync(MetadataIp + "/32", via: network.Imds.PodIp.ToString(), device: network.Imds.Link.LeftDevice);
            network.RealImds = await network.StartAsync(network.Imds.Namespace, MetadataIp, 80, "real-imds");
            network._real.Add(network.RealImds);
            await network.Imds.Namespace.AddLocalAddressAsync(PodIdentityIp);
            await node.AddRouteAsync(PodIdentityIp + "/32", via: network.Imds.PodIp.ToString(), device: network.Imds.Link.LeftDevice);
            network._real.Add(await network.StartAsync(network.Imds.Namespace, PodIdentityIp, 80, "real-pod-identity"));
            if (remoteBackend)
            {
                network.Remote = await PodNetwork.CreateAsync(IPAddress.Parse(RemoteBackendIp), host: node, purpose: "remote");
                network._namespaces.Add(network.Remote);
                await network.StartAsync(network.Remote.Namespace, RemoteBackendIp, BackendPort, "remote-backend");
            }
            for (var i = 1; i <= backends; i++)
            {
                await node.AddLocalAddressAsync(BackendIp(i));
                await network.StartAsync(node, BackendIp(i), BackendPort, $"backend-{i}");
            }
            if (ipv6)
            {
                await network.AddIpv6Async(backends);
            }
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>Connects from the pod to 169.254.169.254:80 <paramref name="count"/> times.</summary>
    public Task<IReadOnlyList<string>> ConnectFromPodAsync(int count = 1) =>
        TcpProbe.ConnectAsync(Pod.Namespace, MetadataIp, 80, count);

    /// <summary>Connects from the pod to ADDRESS:80 <paramref name="count"/> times.</summary>
    public Task<IReadOnlyList<string>> ConnectFromPodAsync(string address, int count = 1) =>
        TcpProbe.ConnectAsync(Pod.Namespace, address, 80, count);

    /// <summary>Connects from the node itself (as a hostNetwork pod does) to ADDRESS:80.</summary>
    public Task<IReadOnlyList<string>> ConnectFromNodeAsync(string address, int count = 1) =>
        TcpProbe.ConnectAsync(Node, address, 80, count);

    /// <summary>`iptables-{backend}-save -t {table}` in the node, without comment lines and with counters zeroed, so
    /// that two saves compare equal when the rules are equal.</summary>
    public async Task<string> SaveAsync(string backend, string table)
    {
        var save = await Node.RunCheckedAsync($"iptables-{backend}-save", ["-t", table]);
        var lines = save.StandardOutput.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => Counters().Replace(line, "[0:0]"));
        return string.Join('\n', lines);
    }

    /// <summary>Both tables ip2service touches, as <see cref="SaveAsync"/> prints them.</summary>
    public async Task<string> SaveTablesAsync(string backend) =>
        await SaveAsync(backend, "filter") + "\n" + await SaveAsync(backend, "nat");

    /// <summary>Rules that other software (kube-proxy, a CNI plugin) would have on a node: ip2service must keep
    /// them and `clean` must not touch them. None of them matches the tests' traffic.</summary>
    public Task AddForeignRulesAsync(string backend) =>
        Node.RunCheckedAsync($"iptables-{backend}-restore", ["--noflush"], standardInput: """
            *filter
            :KUBE-FIREWALL - [0:0]
            -A KUBE-FIREWALL -s 198.51.100.0/24 -m comment --comment "not ip2service" -j DROP
            -A INPUT -j KUBE-FIREWALL
            -A FORWARD -p udp -m udp --dport 9999 -j ACCEPT
            COMMIT
            *nat
            :KUBE-SERVICES - [0:0]
            -A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j RETURN
            -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A POSTROUTING -d 203.0.113.0/24 -j MASQUERADE
            COMMIT

            """);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        for (var i = _namespaces.Count - 1; i >= 0; i--)
        {
            await _namespaces[i].DisposeAsync();
        }
    }

    /// <summary>The IPv6 twin of the IPv4 wiring: addresses without duplicate address detection (so they are
    /// usable at once), /128 routes through the veths as for IPv4, forwarding on in the node.</summary>
    private async Task AddIpv6Async(int backends)
    {
        await Node.SetSysctlAsync("net.ipv6.conf.all.forwarding", "1");
        await WireIpv6Async(Pod, PodIp6, "fd77:ffff::1");
        await WireIpv6Async(Imds, ImdsIp6, "fd77:ffff::2");
        foreach (var (address, name) in new[] { (MetadataIp6, "real-imds6"), (PodIdentityIp6, "real-pod-identity6") })
        {
            await Imds.Namespace.IpAsync(["-6", "addr", "add", address + "/128", "dev", "lo", "nodad"]);
            await Node.IpAsync(["-6", "route", "add", address + "/128", "via", ImdsIp6, "dev", Imds.Link.LeftDevice]);
            _real.Add(await StartAsync(Imds.Namespace, address, 80, name));
        }
        for (var i = 1; i <= backends; i++)
        {
            await Node.IpAsync(["-6", "addr", "add", BackendIp6(i) + "/128", "dev", "lo", "nodad"]);
            await StartAsync(Node, BackendIp6(i), BackendPort, $"backend-{i}");
        }
    }

    private async Task WireIpv6Async(PodNetwork pod, string address, string gateway)
    {
        await Node.IpAsync(["-6", "addr", "add", gateway + "/128", "dev", pod.Link.LeftDevice, "nodad"]);
        await Node.IpAsync(["-6", "route", "add", address + "/128", "dev", pod.Link.LeftDevice]);
        await pod.Namespace.IpAsync(["-6", "addr", "add", address + "/128", "dev", "eth0", "nodad"]);
        await pod.Namespace.IpAsync(["-6", "route", "add", gateway + "/128", "dev", "eth0"]);
        await pod.Namespace.IpAsync(["-6", "route", "add", "default", "via", gateway, "dev", "eth0"]);
    }

    private async Task<BackgroundProcess> StartAsync(NetworkNamespace where, string address, int port, string name)
    {
        var process = await TcpProbe.StartBackendAsync(where, address, port, name);
        _processes.Add(process);
        return process;
    }

    [GeneratedRegex(@"\[\d+:\d+\]")]
    private static partial Regex Counters();
}
