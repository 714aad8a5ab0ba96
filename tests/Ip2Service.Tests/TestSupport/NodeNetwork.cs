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
/// ip2service, the pod reaches the "real" metadata service, as on an EC2 instance.
/// </summary>
internal sealed partial class NodeNetwork : IAsyncDisposable
{
    public const string PodIp = "10.77.0.2";
    public const string MetadataIp = "169.254.169.254";
    public const int BackendPort = 8080;
    public const string RemoteBackendIp = "10.77.3.3";

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

    public static async Task<NodeNetwork> CreateAsync(int backends, bool remoteBackend = false)
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

    private async Task<BackgroundProcess> StartAsync(NetworkNamespace where, string address, int port, string name)
    {
        var process = await TcpProbe.StartBackendAsync(where, address, port, name);
        _processes.Add(process);
        return process;
    }

    [GeneratedRegex(@"\[\d+:\d+\]")]
    private static partial Regex Counters();
}
