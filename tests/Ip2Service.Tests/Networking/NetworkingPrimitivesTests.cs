using System.Net;
using System.Net.Sockets;
using System.Text;
using Iam4Kube.Testing;
using Iam4Kube.Testing.Networking;
using Ip2Service.Tests.TestSupport;

namespace Ip2Service.Tests.Networking;

/// <summary>The shared network-namespace helpers (Iam4Kube.Testing.Networking) do what other suites rely on.</summary>
public sealed class NetworkingPrimitivesTests
{
    [Fact]
    public async Task PodInTheRootNamespaceReachesItsServersFromThePodIp()
    {
        // The iam4kube end-to-end shape: a server in the test's (root) namespace, a client in a pod namespace.
        await using var pod = await PodNetwork.CreateAsync(IPAddress.Parse("10.78.0.5"));
        using var server = new TcpListener(pod.GatewayIp, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;

        var accepted = AcceptOneAsync(server, "hello from root");
        var outcomes = await TcpProbe.ConnectAsync(pod.Namespace, pod.GatewayIp.ToString(), port);

        Assert.Equal(["ok hello from root"], outcomes);
        Assert.Equal(pod.PodIp, await accepted);
    }

    [Fact]
    public async Task LoopbackBridgeExposesAnInProcessServerToANamespace()
    {
        await using var node = await NetworkNamespace.CreateAsync("node");
        await using var bridge = await LoopbackBridge.CreateAsync(node);
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();

        var exposed = bridge.Expose((IPEndPoint)server.LocalEndpoint);
        var accepted = AcceptOneAsync(server, "hello from loopback");
        var outcomes = await TcpProbe.ConnectAsync(node, exposed.Address.ToString(), exposed.Port);

        Assert.Equal(["ok hello from loopback"], outcomes);
        Assert.Equal(bridge.RootAddress, exposed.Address);
        await accepted;
    }

    [Fact]
    public async Task DeletingANamespaceStopsWhatRunsInItAndRemovesItsLinks()
    {
        var node = await NetworkNamespace.CreateAsync("node");
        var link = await VethLink.ConnectAsync(NetworkNamespace.Root, node);
        // Wait until the process runs inside the namespace: before that, `ip netns pids` cannot see it.
        var sleeper = node.Start("sh", ["-c", "echo started; exec sleep 300"]);
        await sleeper.WaitForLineAsync("started", TimeSpan.FromSeconds(10));

        await node.DisposeAsync();

        // SIGKILL: 128 + 9.
        Assert.Equal(137, await sleeper.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        // The kernel removes the namespace's interfaces (and so the root end of the veth) asynchronously, after
        // `ip netns del` has returned: wait for it, bounded.
        var links = await Eventually.ObserveAsync(
            async () => (await ProcessRunner.RunCheckedAsync("ip", ["-o", "link", "show"])).StandardOutput,
            output => !output.Contains(link.LeftDevice, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(link.LeftDevice, links, StringComparison.Ordinal);
        var namespaces = await ProcessRunner.RunCheckedAsync("ip", ["netns", "list"]);
        Assert.DoesNotContain(node.Name!, namespaces.StandardOutput, StringComparison.Ordinal);
        await link.DisposeAsync();
        await sleeper.DisposeAsync();
    }

    [Fact]
    public async Task RunReportsExitCodeAndOutputOfACommandInsideTheNamespace()
    {
        await using var node = await NetworkNamespace.CreateAsync("node");

        var result = await node.RunAsync("sh", ["-c", "ip -o addr show lo | grep -c 127.0.0.1; echo oops >&2; exit 3"], env: new Dictionary<string, string?> { ["X"] = "1" });

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("1\n", result.StandardOutput);
        Assert.Equal("oops\n", result.StandardError);
        Assert.Throws<ProcessFailedException>(() => result.EnsureSuccess());
    }

    private static async Task<IPAddress> AcceptOneAsync(TcpListener server, string greeting)
    {
        using var client = await server.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(greeting + "\n"));
        return ((IPEndPoint)client.Client.RemoteEndPoint!).Address;
    }
}
