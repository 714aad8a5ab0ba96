using System.Net;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Networking;
using Ip2Service.Tests.TestSupport;
using k8s.Models;
using static Ip2Service.Tests.TestSupport.EndpointSlices;
using static Ip2Service.Tests.TestSupport.NodeNetwork;

namespace Ip2Service.Tests.Hosting;

/// <summary>
/// `ip2service run`, the real program, in a node namespace, following EndpointSlices served by the fake
/// kube-apiserver (reached from the namespace through a veth and a relay), with real connections from a pod.
/// </summary>
public sealed class RunCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Backends => new() { "nft", "legacy" };

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task FollowsEndpointSliceChangesWithTheRules(string backend)
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 2);
        await network.AddForeignRulesAsync(backend);
        await using var api = new FakeKubernetesApiServer();
        await api.StartAsync();
        await using var bridge = await LoopbackBridge.CreateAsync(network.Node);
        using var kubeconfigFile = new TemporaryKubeconfig(bridge.Expose(new IPEndPoint(IPAddress.Loopback, api.BaseAddress.Port)));
        var kubeconfig = kubeconfigFile.Path;
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{bridge.NamespaceAddress}:9091/"), Timeout = TimeSpan.FromSeconds(10) };

        await using var ip2service = Ip2ServiceBinary.Start(
            network.Node,
            "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig,
            "--iptables-backend", backend, "--log-level", "debug");

        // No slices yet: the first sync finds no endpoint, so the rules fail closed, and ip2service is ready.
        await ip2service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);
        Assert.StartsWith("refused", Assert.Single(await network.ConnectFromPodAsync()), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("readyz")).StatusCode);

        // An endpoint appears: traffic flows to it, from the pod's own IP.
        var mark = ip2service.LineCount;
        api.Create(Slice("iam4kube-abcde", [Endpoint(BackendIp(1))]));
        await ip2service.WaitForLineAsync($"1 endpoint(s): [{BackendEndpoint(1)}]", Timeout, mark);
        Assert.Equal([$"ok backend-1 {PodIp}"], await network.ConnectFromPodAsync());

        // A second one: both get connections.
        mark = ip2service.LineCount;
        api.Update(Slice("iam4kube-abcde", [Endpoint(BackendIp(1)), Endpoint(BackendIp(2))]));
        await ip2service.WaitForLineAsync($"2 endpoint(s): [{BackendEndpoint(1)}, {BackendEndpoint(2)}]", Timeout, mark);
        var both = await network.ConnectFromPodAsync(count: 40);
        Assert.Contains($"ok backend-1 {PodIp}", both);
        Assert.Contains($"ok backend-2 {PodIp}", both);

        // The first turns not ready: it gets nothing more.
        mark = ip2service.LineCount;
        api.Update(Slice("iam4kube-abcde", [Endpoint(BackendIp(1), ready: false), Endpoint(BackendIp(2))]));
        await ip2service.WaitForLineAsync($"1 endpoint(s): [{BackendEndpoint(2)}]", Timeout, mark);
        Assert.All(await network.ConnectFromPodAsync(count: 10), o => Assert.Equal($"ok backend-2 {PodIp}", o));

        // An iam4kube pod's own IP (here: the pod's, as a not-ready endpoint) keeps the real metadata service.
        mark = ip2service.LineCount;
        api.Create(Slice("iam4kube-fghij", [Endpoint(PodIp, ready: false)]));
        await ip2service.WaitForLineAsync($"sources left alone: [{PodIp}, {BackendIp(1)}, {BackendIp(2)}]", Timeout, mark);
        Assert.Equal([$"ok real-imds {PodIp}"], await network.ConnectFromPodAsync());

        // All slices deleted: fail closed again.
        mark = ip2service.LineCount;
        api.Delete<V1EndpointSlice>(Namespace, "iam4kube-abcde");
        api.Delete<V1EndpointSlice>(Namespace, "iam4kube-fghij");
        await ip2service.WaitForLineAsync(l => l.Contains("fail closed", StringComparison.Ordinal) && l.Contains("sources left alone: []", StringComparison.Ordinal), Timeout, mark);
        Assert.StartsWith("refused", Assert.Single(await network.ConnectFromPodAsync()), StringComparison.Ordinal);

        var metrics = await admin.GetStringAsync("metrics");
        Assert.Contains("\nip2service_endpoints_programmed 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("\nip2service_ready 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("\nip2service_sync_errors_total 0\n", metrics, StringComparison.Ordinal);
        Assert.Matches(@"\nip2service_syncs_total [6-9]\n", metrics);
        Assert.Contains("\nip2service_last_sync_timestamp_seconds ", metrics, StringComparison.Ordinal);

        // On SIGTERM it exits cleanly and the rules stay: still fail closed.
        Assert.Equal(0, await ip2service.StopAsync());
        Assert.StartsWith("refused", Assert.Single(await network.ConnectFromPodAsync()), StringComparison.Ordinal);
        var before = await network.SaveTablesAsync(backend);

        // A restart finds its rules in place and adds no second jump.
        await using var restarted = Ip2ServiceBinary.Start(
            network.Node,
            "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig,
            "--iptables-backend", backend);
        await restarted.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);
        Assert.Equal(before, await network.SaveTablesAsync(backend));
    }

    [Fact]
    public async Task RejectsFromTheStartUntilTheFirstSync()
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1);
        await using var api = new FakeKubernetesApiServer();
        await api.StartAsync();
        api.Create(Slice("iam4kube-abcde", [Endpoint(BackendIp(1))]));
        await using var bridge = await LoopbackBridge.CreateAsync(network.Node);
        // The kubeconfig names a port where, at first, nothing listens: the API server is unreachable.
        var apiAddress = FreeEndPoint(bridge.RootAddress);
        using var kubeconfigFile = new TemporaryKubeconfig(apiAddress);
        var kubeconfig = kubeconfigFile.Path;
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{bridge.NamespaceAddress}:9091/"), Timeout = TimeSpan.FromSeconds(10) };

        await using var ip2service = Ip2ServiceBinary.Start(
            network.Node,
            "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig, "--iptables-backend", "nft");

        await ip2service.WaitForLineAsync("fail closed", Timeout);
        // The message's quotes around the port name are escaped in the JSON log line: match what follows them.
        await ip2service.WaitForLineAsync("is degraded (list_unanswered)", Timeout);
        await ip2service.WaitForLineAsync("Admin HTTP", Timeout);
        Assert.StartsWith("refused", Assert.Single(await network.ConnectFromPodAsync()), StringComparison.Ordinal);
        Assert.DoesNotContain(network.RealImds.Lines, line => line.StartsWith("connection", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await admin.GetAsync("readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("healthz")).StatusCode);

        // The API server becomes reachable: ip2service syncs, routes, and is ready.
        await using var relay = TcpRelay.Start(apiAddress, new IPEndPoint(IPAddress.Loopback, api.BaseAddress.Port));
        await ip2service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);
        Assert.Equal([$"ok backend-1 {PodIp}"], await network.ConnectFromPodAsync());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("readyz")).StatusCode);
    }

    [Fact]
    public async Task ExitsWith1AndSaysSoWhenTheAdminAddressCannotBeBound()
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 1);
        // Nothing answers there; the admin address fails first, before anything talks to the API server.
        using var kubeconfigFile = new TemporaryKubeconfig(new IPEndPoint(IPAddress.Loopback, 9));

        // 192.0.2.1 (TEST-NET-1) is no address of the node's namespace.
        var result = await Ip2ServiceBinary.RunAsync(
            network.Node,
            "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfigFile.Path,
            "--iptables-backend", "nft", "--admin-listen", "192.0.2.1:9091");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ip2service cannot start: cannot listen on 192.0.2.1:9091", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    private static IPEndPoint FreeEndPoint(IPAddress address)
    {
        // The address is this test's own (a fresh link), so nothing else takes the port before the relay does.
        using var probe = new System.Net.Sockets.TcpListener(address, 0);
        probe.Start();
        var endPoint = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        return endPoint;
    }
}
