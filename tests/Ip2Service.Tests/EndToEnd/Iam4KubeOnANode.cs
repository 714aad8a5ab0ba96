using System.Net;
using Iam4Kube.Testing.Builders;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Networking;
using Iam4Kube.Testing.Programs;
using Iam4Kube.Testing.Sts;
using Ip2Service.Tests.TestSupport;
using k8s.Models;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.EndToEnd;

/// <summary>
/// The whole system as on a node, ready for an application to ask for credentials:
/// <code>
///   pod (P) ──veth──▶ node ──veth (LoopbackBridge)──▶ root namespace: iam4kube on 0.0.0.0:PORT(S), fake API, fake STS
///                      │ ip2service run: DNAT 169.254.169.254:80 → ROOT-END:PORT (the Service's "http" port)
///                      │ with the token door: DNAT 169.254.170.23:80 → ROOT-END:TOKEN-PORT ("pod-identity"),
///                      │                      from pods (PREROUTING) and from the node itself (OUTPUT)
/// </code>
/// iam4kube and ip2service run as real programs (`dotnet iam4kube.dll`, `dotnet ip2service.dll`); the pod's IP is
/// <see cref="PodIp"/>, its node "node-1". The root namespace routes P back through the node.
/// </summary>
internal sealed class Iam4KubeOnANode : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The audience the token door is started with (`--token-audience`; tokens must name it).</summary>
    public const string TokenAudience = "iam4kube.io/pod-identity";

    private readonly List<IAsyncDisposable> _owned = [];

    private Iam4KubeOnANode(string home) => Home = home;

    /// <summary>A folder of the test's own (deleted with it): AWS config paths, token files.</summary>
    public string Home { get; }

    public FakeSts Sts { get; private set; } = null!;

    public FakeKubernetesApiServer Api { get; private set; } = null!;

    public PodBehindNode Topology { get; private set; } = null!;

    public BackgroundProcess Iam4Kube { get; private set; } = null!;

    public BackgroundProcess Ip2Service { get; private set; } = null!;

    public IPAddress PodIp => Topology.PodIp;

    /// <summary>Both programs' output, for a failed assertion's message.</summary>
    public string Context => $"--- iam4kube ---\n{Iam4Kube.Output}\n--- ip2service ---\n{Ip2Service.Output}";

    /// <summary>
    /// Starts everything, the Node "node-1" and whatever <paramref name="cluster"/> creates (it is given the pod's IP)
    /// in the API first; with <paramref name="tokenDoor"/>, iam4kube's token door too, its Service port
    /// "pod-identity", and ip2service's pod-identity target.
    /// </summary>
    public static async Task<Iam4KubeOnANode> StartAsync(Action<FakeKubernetesApiServer, IPAddress> cluster, bool tokenDoor = false)
    {
        NetworkPrerequisites.EnsureIptables();
        var node = new Iam4KubeOnANode(Directory.CreateTempSubdirectory("iam4kube-e2e-home-").FullName);
        try
        {
            await node.StartPartsAsync(cluster, tokenDoor);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    private async Task StartPartsAsync(Action<FakeKubernetesApiServer, IPAddress> cluster, bool tokenDoor)
    {
        var iam4kubeDll = global::Iam4Kube.Testing.Checkout.Iam4KubeDll();
        Sts = FakeSts.Start();
        _owned.Add(new Disposal(Sts.Dispose));
        Api = Own(new FakeKubernetesApiServer());
        await Api.StartAsync();
        Topology = Own(await PodBehindNode.CreateAsync());
        var bridge = Topology.Bridge;

        Api.Create(KubeObjects.Node("node-1", "eu-west-1", "eu-west-1a"));
        cluster(Api, PodIp);

        // iam4kube, a real process in the root namespace.
        var metadataPort = FreePorts.Pick(IPAddress.Any);
        var tokenPort = tokenDoor ? FreePorts.Pick(IPAddress.Any) : 0;
        var adminPort = FreePorts.Pick(IPAddress.Loopback);
        string[] tokenArgs = tokenDoor ? ["--token-listen", $"0.0.0.0:{tokenPort}", "--token-audience", TokenAudience] : [];
        Iam4Kube = Own(NetworkNamespace.Root.Start(
            ProcessRunner.DotnetHost,
            [
                iam4kubeDll,
                "--kubeconfig", Api.KubeconfigPath,
                "--sts-endpoint", Sts.Url,
                "--region", "eu-west-1",
                "--listen", $"0.0.0.0:{metadataPort}",
                "--admin-listen", $"127.0.0.1:{adminPort}",
                "--log-format", "text",
                "--shutdown-delay", "0s",
                "--drain-timeout", "1s",
                .. tokenArgs,
            ],
            Iam4KubeProgram.Environment(Home)));
        await ReadinessProbe.WaitUntilReadyAsync(Iam4Kube, new Uri($"http://127.0.0.1:{adminPort}/readyz"), Timeout);

        // The EndpointSlice: iam4kube's address as the node sees it (the root end of the node's veth), with the
        // Service's ports as the EndpointSlice controller lists them.
        var iam4kubeEndpoint = $"{bridge.RootAddress}:{metadataPort}";
        var slice = Slice("iam4kube-e2e01", [Endpoint(bridge.RootAddress.ToString())], port: metadataPort);
        if (tokenDoor)
        {
            slice.Ports.Add(new Discoveryv1EndpointPort { Name = "pod-identity", Port = tokenPort, Protocol = "TCP" });
        }

        Api.Create(slice);

        // ip2service in the node, reaching the fake API through the bridge.
        var kubeconfig = new TemporaryKubeconfig(bridge.Expose(new IPEndPoint(IPAddress.Loopback, Api.BaseAddress.Port)));
        _owned.Add(new Disposal(kubeconfig.Dispose));
        string[] podIdentityArgs = tokenDoor ? ["--pod-identity-port", "pod-identity"] : [];
        if (tokenDoor)
        {
            // The node's own connections are routed before OUTPUT's DNAT: a real node reaches 169.254.170.23 by its
            // default route. Only that address here (through the bridge), so that nothing else can leave the node.
            await Topology.Node.AddRouteAsync("169.254.170.23/32", via: bridge.RootAddress.ToString(), device: bridge.Link.RightDevice);
        }

        Ip2Service = Own(Ip2ServiceBinary.Start(
            Topology.Node,
            ["run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig.Path,
             "--iptables-backend", "nft", .. podIdentityArgs]));
        await Ip2Service.WaitForLineAsync($"1 endpoint(s): [{iam4kubeEndpoint}]", Timeout);
        if (tokenDoor)
        {
            await Ip2Service.WaitForLineAsync($"1 endpoint(s): [{bridge.RootAddress}:{tokenPort}]", Timeout);
        }

        await Ip2Service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        // In reverse: the programs before the network and the fakes they talk to.
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        Directory.Delete(Home, recursive: true);
    }

    private T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private sealed class Disposal(Action dispose) : IAsyncDisposable
    {
        ValueTask IAsyncDisposable.DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
