using Iam4Kube.Explain;
using Iam4Kube.Observability;

namespace Iam4Kube.Hosting;

/// <summary>The admin port: liveness, readiness and Prometheus metrics (AdminEndpoints.cs, in iam4kube's words). Never
/// reachable on the metadata port.</summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints, Iam4KubeMetrics metrics)
    {
        endpoints.MapAdminEndpoints(metrics.Registry, "ok", context =>
        {
            var answer = context.RequestServices.GetRequiredService<Readiness>().Check();
            return new AdminReadiness(answer.Ready, ReadinessText(answer, context.Connection.RemoteIpAddress));
        }).WithMetadata(ServedOn.Admin);
        return endpoints;
    }

    /// <summary>
    /// The admin port is reachable through the Service's metrics port, so every pod could read /readyz: role ARNs
    /// only for loopback callers (kubectl exec, port-forward), as for /debug/explain.
    /// </summary>
    internal static string ReadinessText(ReadinessAnswer answer, System.Net.IPAddress? caller) =>
        answer.Detail is { } detail && ExplainApi.MayAsk(caller) ? detail : answer.Reason;
}
