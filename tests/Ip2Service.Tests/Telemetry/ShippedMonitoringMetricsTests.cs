using System.Net;
using Iam4Kube.Testing.Kubernetes;
using Iam4Kube.Testing.Monitoring;
using Iam4Kube.Testing.Networking;
using Ip2Service.Tests.TestSupport;
using static Ip2Service.Tests.TestSupport.EndpointSlices;

namespace Ip2Service.Tests.Telemetry;

/// <summary>The dashboard and alerts in deploy/monitoring read only ip2service metrics that `ip2service run`
/// really exports: checked against its live /metrics (in a node namespace, following the fake API server).</summary>
public sealed class ShippedMonitoringMetricsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DashboardAndAlertsReadOnlyMetricsIp2ServiceExports()
    {
        await using var network = await NodeNetwork.CreateAsync(backends: 0);
        await using var api = new FakeKubernetesApiServer();
        await api.StartAsync();
        await using var bridge = await LoopbackBridge.CreateAsync(network.Node);
        using var kubeconfig = new TemporaryKubeconfig(bridge.Expose(new IPEndPoint(IPAddress.Loopback, api.BaseAddress.Port)));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{bridge.NamespaceAddress}:9091/"), Timeout = TimeSpan.FromSeconds(10) };
        await using var ip2service = Ip2ServiceBinary.Start(
            network.Node,
            "run", "--service-namespace", Namespace, "--service-name", Service, "--kubeconfig", kubeconfig.Path);
        await ip2service.WaitForLineAsync("Ready: the rules for 169.254.169.254:80", Timeout);

        var exported = MonitoringFiles.ExportedNames(await admin.GetStringAsync("metrics"));
        var missing = MonitoringFiles.UnexportedNames("ip2service_", exported);

        Assert.Contains("ip2service_ready", exported);
        Assert.True(missing.Count == 0, $"deploy/monitoring reads metrics ip2service does not export: {string.Join(", ", missing)}");
    }
}
