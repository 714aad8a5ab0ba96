using Iam4Kube.Observability;
using Prometheus;

namespace Iam4Kube.Hosting;

/// <summary>The admin port: liveness, readiness and Prometheus metrics. Never reachable on the metadata port.</summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints, Iam4KubeMetrics metrics)
    {
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok")).WithMetadata(ServedOn.Admin);
        endpoints.MapGet("/readyz", (Readiness readiness) =>
        {
            var (ready, reason) = readiness.Check();
            return ready ? TypedResults.Text(reason) : Results.Text(reason, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithMetadata(ServedOn.Admin);
        endpoints.MapMetrics("/metrics", metrics.Registry).WithMetadata(ServedOn.Admin);
        return endpoints;
    }
}
