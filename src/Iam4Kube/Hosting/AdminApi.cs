using Iam4Kube.Explain;
using Iam4Kube.Observability;
using Prometheus;

namespace Iam4Kube.Hosting;

/// <summary>The admin port: liveness, readiness and Prometheus metrics. Never reachable on the metadata port.</summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints, Iam4KubeMetrics metrics)
    {
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok")).WithMetadata(ServedOn.Admin);
        endpoints.MapGet("/readyz", (Readiness readiness, HttpContext context) =>
        {
            var answer = readiness.Check();
            var text = ReadinessText(answer, context.Connection.RemoteIpAddress);
            return answer.Ready ? TypedResults.Text(text) : Results.Text(text, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithMetadata(ServedOn.Admin);
        endpoints.MapMetrics("/metrics", metrics.Registry).WithMetadata(ServedOn.Admin);
        return endpoints;
    }

    /// <summary>
    /// The admin port is reachable through the Service's metrics port, so every pod could read /readyz: role ARNs
    /// only for loopback callers (kubectl exec, port-forward), as for /debug/explain.
    /// </summary>
    internal static string ReadinessText(ReadinessAnswer answer, System.Net.IPAddress? caller) =>
        answer.Detail is { } detail && ExplainApi.MayAsk(caller) ? detail : answer.Reason;
}
