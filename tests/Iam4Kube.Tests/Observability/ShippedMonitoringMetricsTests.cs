using Iam4Kube.Testing.Monitoring;
using Iam4Kube.Tests.TestHost;

namespace Iam4Kube.Tests.Observability;

/// <summary>The dashboard and alerts in deploy/monitoring read only iam4kube metrics that iam4kube really
/// exports: checked against a live /metrics of a running host.</summary>
public sealed class ShippedMonitoringMetricsTests
{
    [Fact]
    public async Task DashboardAndAlertsReadOnlyMetricsIam4KubeExports()
    {
        await using var host = await Iam4KubeTestHost.StartAsync();
        await host.WaitUntilReadyAsync();
        using var admin = host.AdminClient();

        var exported = MonitoringFiles.ExportedNames(await admin.GetStringAsync("/metrics"));
        var missing = MonitoringFiles.UnexportedNames("iam4kube_", exported);

        Assert.Contains("iam4kube_ready", exported);
        Assert.True(missing.Count == 0, $"deploy/monitoring reads metrics iam4kube does not export: {string.Join(", ", missing)}");
    }
}
